// Model pulls against a local HTTP server (model_http_server.py) that can drop connections,
// ignore Range, fail, stall, redirect and publish ETags: resume, restart, verification, and
// that nothing half-downloaded or wrong ever becomes NAME.gguf.
#include "platform/model_pull.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "http_server_process.h"
#include "platform/sha256.h"
#include "store_fixtures.h"
#include "util/error.h"

namespace tandem::platform {
namespace {

using testing::exists;
using testing::read_file;
using testing::ScratchDir;
using testing::write_file;

class ModelPull : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    served_ = new ScratchDir;
    // ~200 KB: big enough that a drop after a few KB leaves most of it to resume.
    testing::write_small_model(*served_ / "model.gguf", 3000);
    write_file(*served_ / "notes.txt", "this is not a model file\n");
    server_ = new testing::HttpServerProcess(served_->str(), *served_ / "requests.log");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete served_;
  }

  PullResult pull(const std::string& path_and_query, PullOptions o = {}) {
    o.url = server_->url(path_and_query);
    o.download.low_speed_seconds = 1;  // the stall test must not take the default 30 s
    return pull_model(store_, o);
  }
  std::string served_model() const { return read_file(*served_ / "model.gguf"); }
  std::string served_sha() const { return sha256_of_file(*served_ / "model.gguf"); }
  std::string request_log() const { return read_file(*served_ / "requests.log"); }

  static ScratchDir* served_;
  static testing::HttpServerProcess* server_;
  ScratchDir dir_;
  ModelStore store_{dir_.str()};
};
ScratchDir* ModelPull::served_ = nullptr;
testing::HttpServerProcess* ModelPull::server_ = nullptr;

TEST_F(ModelPull, DownloadsIntoTheStoreWithASidecar) {
  PullResult r = pull("/files/model.gguf?v=1");
  EXPECT_EQ(r.id, "model");
  EXPECT_EQ(r.path, dir_ / "model.gguf");
  EXPECT_EQ(read_file(r.path), served_model());
  EXPECT_FALSE(exists(dir_ / "model.gguf.part"));
  EXPECT_EQ(r.verified_against, "");  // nothing to check against
  auto source = store_.read_source("model");
  ASSERT_TRUE(source);
  EXPECT_EQ(source->sha256, served_sha());
  EXPECT_EQ(source->size, served_model().size());
  EXPECT_EQ(source->url, server_->url("/files/model.gguf?v=1"));
  EXPECT_FALSE(source->pulled_at.empty());
  auto listed = store_.list();
  ASSERT_EQ(listed.size(), 1u);
  ASSERT_TRUE(listed[0].card);
  EXPECT_EQ(listed[0].card->parameters, 3000 * 64 + 64);
}

TEST_F(ModelPull, InterruptedDownloadResumesWithARangeRequest) {
  PullOptions o;
  o.id = "resumed";
  EXPECT_THROW(pull("/files/model.gguf?drop_after=5000", o), DownloadError);
  EXPECT_FALSE(exists(dir_ / "resumed.gguf"));
  ASSERT_TRUE(exists(dir_ / "resumed.gguf.part"));
  EXPECT_EQ(std::filesystem::file_size(dir_ / "resumed.gguf.part"), 5000u);

  o.sha256 = served_sha();
  PullResult r = pull("/files/model.gguf?second=1", o);
  EXPECT_EQ(r.resumed_from, 5000u);
  EXPECT_FALSE(r.restarted);
  EXPECT_EQ(r.verified_against, "--sha256");
  EXPECT_EQ(read_file(dir_ / "resumed.gguf"), served_model());
  EXPECT_EQ(store_.read_source("resumed")->sha256, served_sha());
  EXPECT_NE(request_log().find(R"("range": "bytes=5000-")"), std::string::npos) << request_log();
}

TEST_F(ModelPull, ServerIgnoringRangeMeansStartingOver) {
  // Garbage in the .part proves the bytes were replaced, not appended to.
  write_file(dir_ / "model.gguf.part", std::string(5000, 'x'));
  PullOptions o;
  o.sha256 = served_sha();
  PullResult r = pull("/files/model.gguf?ignore_range=1", o);
  EXPECT_TRUE(r.restarted);
  EXPECT_EQ(r.resumed_from, 0u);
  EXPECT_EQ(read_file(dir_ / "model.gguf"), served_model());
}

TEST_F(ModelPull, CompletePartialFileIsAcceptedFrom416) {
  write_file(dir_ / "model.gguf.part", served_model());
  PullResult r = pull("/files/model.gguf");
  EXPECT_EQ(r.resumed_from, served_model().size());
  EXPECT_EQ(read_file(dir_ / "model.gguf"), served_model());
  EXPECT_EQ(store_.read_source("model")->sha256, served_sha());
}

TEST_F(ModelPull, ShaMismatchDeletesTheDownload) {
  PullOptions o;
  o.sha256 = std::string(64, '0');
  try {
    pull("/files/model.gguf", o);
    FAIL() << "expected a SHA-256 mismatch";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("SHA-256 mismatch"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(served_sha()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(exists(dir_ / "model.gguf"));
  EXPECT_FALSE(exists(dir_ / "model.gguf.part"));
  EXPECT_FALSE(exists(dir_ / "model.gguf.json"));
}

TEST_F(ModelPull, ExpectedShaIsCaseInsensitive) {
  PullOptions o;
  std::string upper = served_sha();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  o.sha256 = upper;
  EXPECT_EQ(pull("/files/model.gguf", o).verified_against, "--sha256");
}

TEST_F(ModelPull, MalformedShaIsRejectedBeforeDownloading) {
  PullOptions o;
  o.sha256 = "abc";
  EXPECT_THROW(pull("/files/model.gguf", o), InvalidArgument);
  EXPECT_FALSE(exists(dir_ / "model.gguf.part"));
}

TEST_F(ModelPull, HttpErrorFailsWithItsStatus) {
  for (const char* path : {"/files/model.gguf?status=404", "/files/missing.gguf"}) {
    try {
      pull(path);
      FAIL() << "expected an HTTP error for " << path;
    } catch (const DownloadError& e) {
      EXPECT_EQ(e.http_status(), 404);
      EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(store_.ids().empty());
  EXPECT_FALSE(exists(dir_ / "model.gguf.part"));  // an empty .part is not kept
}

TEST_F(ModelPull, ServerErrorKeepsEarlierPartialBytes) {
  write_file(dir_ / "model.gguf.part", served_model().substr(0, 1000));
  EXPECT_THROW(pull("/files/model.gguf?status=503"), DownloadError);
  EXPECT_EQ(std::filesystem::file_size(dir_ / "model.gguf.part"), 1000u);
}

TEST_F(ModelPull, NonGgufBodyIsNotKept) {
  PullOptions o;
  try {
    pull("/files/notes.txt", o);
    FAIL() << "expected a format error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("not a usable GGUF"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store_.ids().empty());
  EXPECT_FALSE(exists(dir_ / "notes.txt.gguf.part"));
  EXPECT_FALSE(exists(dir_ / "notes.txt.gguf"));
}

TEST_F(ModelPull, StalledConnectionTimesOutAndKeepsThePartial) {
  auto start = std::chrono::steady_clock::now();
  try {
    pull("/files/model.gguf?stall_after=3000");
    FAIL() << "expected a stall timeout";
  } catch (const DownloadError& e) {
    EXPECT_NE(std::string(e.what()).find("stalled"), std::string::npos) << e.what();
    EXPECT_FALSE(e.cancelled());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
  EXPECT_EQ(std::filesystem::file_size(dir_ / "model.gguf.part"), 3000u);
  // ... and the next run finishes it.
  EXPECT_EQ(pull("/files/model.gguf").resumed_from, 3000u);
}

TEST_F(ModelPull, CancelFlagStopsTheTransferAndKeepsThePartial) {
  std::atomic<bool> cancel{false};
  PullOptions o;
  o.download.cancel = &cancel;
  o.download.low_speed_seconds = 30;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancel = true;
  });
  try {
    o.url = server_->url("/files/model.gguf?stall_after=2000");
    pull_model(store_, o);
    ADD_FAILURE() << "expected a cancelled download";
  } catch (const DownloadError& e) {
    EXPECT_TRUE(e.cancelled()) << e.what();
    EXPECT_NE(std::string(e.what()).find("resume"), std::string::npos) << e.what();
  }
  canceller.join();
  EXPECT_EQ(std::filesystem::file_size(dir_ / "model.gguf.part"), 2000u);
}

TEST_F(ModelPull, PublishedEtagShaIsCheckedWhenTrusted) {
  PullOptions o;
  o.trust_etag_sha256 = true;  // as for a Hugging Face host
  PullResult ok = pull("/files/model.gguf?redirect=1&linked_etag=" + served_sha(), o);
  EXPECT_EQ(ok.verified_against, "ETag");

  o.id = "bad";
  EXPECT_THROW(pull("/files/model.gguf?etag=" + std::string(64, 'a'), o), FormatError);
  EXPECT_FALSE(exists(dir_ / "bad.gguf"));

  // Not a Hugging Face host, not trusted: an ETag is just a cache tag.
  PullOptions plain;
  plain.id = "plain";
  EXPECT_EQ(pull("/files/model.gguf?etag=" + std::string(64, 'a'), plain).verified_against, "");
}

TEST_F(ModelPull, ExistingIdNeedsForce) {
  testing::write_small_model(dir_ / "model.gguf", 8);
  EXPECT_THROW(pull("/files/model.gguf"), InvalidArgument);
  PullOptions o;
  o.force = true;
  pull("/files/model.gguf", o);
  EXPECT_EQ(read_file(dir_ / "model.gguf"), served_model());
}

TEST_F(ModelPull, DirectoryIsCreatedOnFirstPull) {
  ModelStore nested(dir_ / "a/b/models");
  PullOptions o;
  o.url = server_->url("/files/model.gguf");
  pull_model(nested, o);
  EXPECT_EQ(nested.ids(), std::vector<std::string>{"model"});
}

}  // namespace
}  // namespace tandem::platform

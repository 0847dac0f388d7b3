// The model store: listing (corrupt files included), describing, removing, sidecars, ids, URLs,
// and the model card it shows.
#include "platform/model_store.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "gguf/file.h"
#include "platform/model_card.h"
#include "platform/model_json.h"
#include "platform/sha256.h"
#include "platform/url.h"
#include "store_fixtures.h"
#include "util/error.h"

namespace tandem::platform {
namespace {

using testing::ScratchDir;
using testing::write_file;
using testing::write_small_model;

TEST(ModelCard, ReadsTheFactsFromTheHeader) {
  ScratchDir dir;
  write_small_model(dir / "m.gguf", 64, "tiny");
  ModelCard c = model_card(gguf::File::open(dir / "m.gguf"));
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.name, "tiny");
  EXPECT_EQ(c.context_length, 4096u);
  EXPECT_EQ(c.vocab_size, 3u);
  EXPECT_EQ(c.tokenizer_model, "llama");
  EXPECT_EQ(c.parameters, 64 * 64 + 64);
  ASSERT_EQ(c.type_mix.size(), 2u);
  EXPECT_EQ(c.type_mix[0].first, "q8_0");  // most bytes first
  EXPECT_EQ(c.type_mix[0].second.bytes, 64u * 2 * 34);
  EXPECT_EQ(c.type_mix[1].first, "f32");
  EXPECT_EQ(quantization_summary(c), "Q8_0 94%, F32 6%");
}

TEST(ModelCard, HumanReadableNumbers) {
  EXPECT_EQ(human_count(999), "999");
  EXPECT_EQ(human_count(1240000000), "1.24B");
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.50 KiB");
}

TEST(ModelStore, MissingDirectoryIsAnEmptyStore) {
  ScratchDir dir;
  ModelStore store(dir / "not-created-yet");
  EXPECT_TRUE(store.ids().empty());
  EXPECT_TRUE(store.list().empty());
}

TEST(ModelStore, ListsEveryGgufIncludingCorruptOnesAndIgnoresOtherFiles) {
  ScratchDir dir;
  write_small_model(dir / "beta.gguf");
  write_small_model(dir / "alpha.gguf", 128);
  write_file(dir / "broken.gguf", "GGUF but not really");
  write_file(dir / "pending.gguf.part", "half a model");
  write_file(dir / "notes.txt", "not a model");
  write_file(dir / "orphan.gguf.json", R"({"url": "http://x/orphan.gguf"})");
  ModelStore store(dir.str());
  store.write_source("beta",
                     {"http://example.com/beta.gguf", "ab12", 1234, "2025-01-01T00:00:00Z"});

  ASSERT_EQ(store.ids(), (std::vector<std::string>{"alpha", "beta", "broken"}));
  std::vector<StoredModel> models = store.list();
  ASSERT_EQ(models.size(), 3u);

  const StoredModel& alpha = models[0];
  EXPECT_EQ(alpha.path, dir / "alpha.gguf");
  ASSERT_TRUE(alpha.card);
  EXPECT_EQ(alpha.card->parameters, 128 * 64 + 64);
  EXPECT_EQ(alpha.file_size, std::filesystem::file_size(dir / "alpha.gguf"));
  EXPECT_FALSE(alpha.source);  // dropped in by hand: no sidecar, still a model
  EXPECT_TRUE(alpha.error.empty());

  const StoredModel& beta = models[1];
  ASSERT_TRUE(beta.source);
  EXPECT_EQ(beta.source->url, "http://example.com/beta.gguf");
  EXPECT_EQ(beta.source->size, 1234u);
  EXPECT_EQ(beta.source->pulled_at, "2025-01-01T00:00:00Z");

  const StoredModel& broken = models[2];
  EXPECT_FALSE(broken.card);
  EXPECT_NE(broken.error.find("broken.gguf"), std::string::npos) << broken.error;
  EXPECT_EQ(broken.file_size, 19u);

  nlohmann::json j = stored_model_json(broken);
  EXPECT_EQ(j["id"], "broken");
  EXPECT_TRUE(j["error"].is_string());
  EXPECT_TRUE(j["source"].is_null());
  nlohmann::json a = stored_model_json(alpha);
  EXPECT_EQ(a["architecture"], "llama");
  EXPECT_EQ(a["context_length"], 4096);
  EXPECT_EQ(a["quantization"], quantization_summary(*alpha.card));
  EXPECT_TRUE(a["error"].is_null());
}

TEST(ModelStore, UnreadableSidecarIsReportedNotFatal) {
  ScratchDir dir;
  write_small_model(dir / "m.gguf");
  write_file(dir / "m.gguf.json", "{not json");
  ModelStore store(dir.str());
  StoredModel m = store.describe("m");
  EXPECT_TRUE(m.card);
  EXPECT_FALSE(m.source);
  EXPECT_NE(m.source_error.find("m.gguf.json"), std::string::npos) << m.source_error;
}

TEST(ModelStore, SidecarRoundTrips) {
  ScratchDir dir;
  ModelStore store(dir.str());
  ModelSource s{"https://h/x.gguf", std::string(64, 'a'), 42, utc_timestamp_now()};
  store.write_source("x", s);
  auto back = store.read_source("x");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->url, s.url);
  EXPECT_EQ(back->sha256, s.sha256);
  EXPECT_EQ(back->size, 42u);
  EXPECT_EQ(back->pulled_at, s.pulled_at);
  EXPECT_EQ(s.pulled_at.size(), 20u);  // 2025-01-31T12:00:00Z
  EXPECT_FALSE(store.read_source("y"));
}

TEST(ModelStore, DescribeUnknownIdIsAClearError) {
  ScratchDir dir;
  ModelStore store(dir.str());
  try {
    store.describe("nope");
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("no model 'nope'"), std::string::npos) << e.what();
  }
}

TEST(ModelStore, RemoveDeletesModelSidecarAndPartial) {
  ScratchDir dir;
  write_small_model(dir / "m.gguf");
  write_file(dir / "m.gguf.part", "stale");
  ModelStore store(dir.str());
  store.write_source("m", {"http://h/m.gguf", "", 1, ""});
  write_small_model(dir / "keep.gguf");

  RemovedFiles r = store.remove("m");
  EXPECT_TRUE(r.model && r.source && r.partial);
  EXPECT_FALSE(testing::exists(dir / "m.gguf"));
  EXPECT_FALSE(testing::exists(dir / "m.gguf.json"));
  EXPECT_FALSE(testing::exists(dir / "m.gguf.part"));
  EXPECT_TRUE(testing::exists(dir / "keep.gguf"));
  EXPECT_THROW(store.remove("m"), InvalidArgument);

  write_file(dir / "half.gguf.part", "interrupted");
  RemovedFiles partial = store.remove("half");
  EXPECT_FALSE(partial.model);
  EXPECT_TRUE(partial.partial);
}

TEST(ModelStore, IdsCannotEscapeTheDirectory) {
  ScratchDir dir;
  ModelStore store(dir.str());
  EXPECT_THROW(store.remove("../x"), InvalidArgument);
  EXPECT_THROW(store.describe("a/b"), InvalidArgument);
  EXPECT_THROW(validate_model_id(""), InvalidArgument);
  EXPECT_THROW(validate_model_id(".."), InvalidArgument);
  EXPECT_NO_THROW(validate_model_id("Qwen2.5-0.5B-Instruct-Q4_K_M"));
}

TEST(ModelStore, DefaultDirectoryFollowsEnvironment) {
  const char* old_models = std::getenv("TANDEM_MODELS");
  std::string saved = old_models ? old_models : "";
  ::setenv("TANDEM_MODELS", "/srv/models", 1);
  EXPECT_EQ(default_models_dir(), "/srv/models");
  ::unsetenv("TANDEM_MODELS");
  const char* home = std::getenv("HOME");
  if (home) {
    EXPECT_EQ(default_models_dir(), std::string(home) + "/.local/share/tandem/models");
  }
  if (old_models) ::setenv("TANDEM_MODELS", saved.c_str(), 1);
}

TEST(Url, DefaultIdIsTheFileNameWithoutGgufOrQuery) {
  EXPECT_EQ(model_id_from_url("https://huggingface.co/org/repo/resolve/main/"
                              "Qwen2-0.5B.Q4_K_M.gguf?download=true"),
            "Qwen2-0.5B.Q4_K_M");
  EXPECT_EQ(model_id_from_url("http://127.0.0.1:8080/a%20b.GGUF#frag"), "a b");
  EXPECT_EQ(model_id_from_url("http://host/models/plain"), "plain");
  EXPECT_THROW(model_id_from_url("http://host/"), InvalidArgument);
  EXPECT_THROW(model_id_from_url("ftp://host/x.gguf"), InvalidArgument);
  EXPECT_THROW(model_id_from_url("not a url"), InvalidArgument);
}

TEST(Url, HuggingFaceHosts) {
  EXPECT_EQ(url_host("https://HuggingFace.co/x"), "huggingface.co");
  EXPECT_TRUE(is_hugging_face_host("huggingface.co"));
  EXPECT_TRUE(is_hugging_face_host("cdn-lfs.huggingface.co"));
  EXPECT_TRUE(is_hugging_face_host("hf.co"));
  EXPECT_FALSE(is_hugging_face_host("nothuggingface.co"));
  EXPECT_FALSE(is_hugging_face_host("127.0.0.1"));
}

TEST(Sha256, KnownVectorsAndIncrementalUpdates) {
  Sha256 h;
  h.update("abc", 3);
  EXPECT_EQ(h.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(h.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.update("a", 1);
  h.update("bc", 2);
  EXPECT_EQ(h.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ScratchDir dir;
  write_file(dir / "f", "abcdef");
  Sha256 prefix;
  hash_file_prefix(dir / "f", prefix, 3);
  EXPECT_EQ(prefix.hex_digest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_THROW(hash_file_prefix(dir / "f", prefix, 100), IoError);
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'F')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'g')));
}

}  // namespace
}  // namespace tandem::platform

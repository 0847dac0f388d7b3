#pragma once
// Runs tests/platform/model_http_server.py (Debian's python3) for the lifetime of the object.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

extern char** environ;

namespace tandem::testing {

class HttpServerProcess {
 public:
  // Serves the files of `root`; logs each request as a JSON line to `log`.
  HttpServerProcess(const std::string& root, const std::string& log) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const std::string script =
        std::string(TANDEM_SOURCE_DIR) + "/tests/platform/model_http_server.py";
    std::string python = TANDEM_PYTHON;
    char* argv[] = {python.data(), const_cast<char*>(script.c_str()),
                    const_cast<char*>(root.c_str()), const_cast<char*>(log.c_str()), nullptr};
    int rc = posix_spawn(&pid_, python.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start " + python);
    }
    // The server prints its port once it listens.
    FILE* f = ::fdopen(out[0], "r");
    if (!f || std::fscanf(f, "%d", &port_) != 1) {
      if (f) std::fclose(f);
      stop();
      throw std::runtime_error("test HTTP server did not report a port");
    }
    std::fclose(f);
  }
  ~HttpServerProcess() { stop(); }
  HttpServerProcess(const HttpServerProcess&) = delete;
  HttpServerProcess& operator=(const HttpServerProcess&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path_and_query;
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace tandem::testing

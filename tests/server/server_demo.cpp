// tandem_server_demo: the HTTP server over FakeBackend, for benchmarks (wrk) and end-to-end
// client tests (the openai npm package). Prints "listening on http://HOST:PORT" once ready.
//   tandem_server_demo [--host H] [--port P] [--threads N] [--token-delay-ms D] [--api-key K]
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "fake_backend.h"
#include "server/server.h"

int main(int argc, char** argv) {
  using namespace tandem::server;
  ServerOptions options;
  options.port = 0;
  testing::FakeBackendOptions fake;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--host") {
      options.host = value;
    } else if (flag == "--port") {
      options.port = static_cast<std::uint16_t>(std::stoi(value));
    } else if (flag == "--threads") {
      options.io_threads = std::stoi(value);
    } else if (flag == "--token-delay-ms") {
      fake.token_delay = std::chrono::milliseconds(std::stoi(value));
    } else if (flag == "--api-key") {
      options.authenticator = std::make_shared<StaticKeyAuthenticator>(std::set<std::string>{value});
    } else {
      std::cerr << "unknown flag " << flag << "\n";
      return 2;
    }
  }
  try {
    testing::FakeBackend backend(fake);
    Server server(options, backend);
    std::cout << "listening on http://" << options.host << ":" << server.port() << std::endl;
    server.run(/*handle_signals=*/true);
    std::cout << "drained, exiting" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "tandem_server_demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

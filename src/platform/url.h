#pragma once
// The few facts a model pull needs from a URL, parsed by libcurl's URL parser (loaded on first
// use, see curl_loader.h: url_host and model_id_from_url throw IoError when libcurl is missing).
#include <string>

namespace tandem::platform {

// Lowercase host name of an absolute http(s) URL. Throws InvalidArgument for anything else.
std::string url_host(const std::string& url);

// The default model id for a URL: its last path segment, percent-decoded, without a ".gguf"
// suffix; query and fragment are ignored. Throws InvalidArgument when that leaves no usable name
// (the caller then asks for --name).
std::string model_id_from_url(const std::string& url);

// Hugging Face (huggingface.co, hf.co and their subdomains) publishes each LFS file's SHA-256 in
// the X-Linked-Etag / ETag headers, so a pull from there can be verified without --sha256.
bool is_hugging_face_host(const std::string& host);

}  // namespace tandem::platform

#!/usr/bin/python3
"""A local HTTP file server for the model-pull tests, with switchable misbehaviour.

Usage: model_http_server.py ROOT_DIR LOG_FILE
Serves ROOT_DIR/<name> for GET /<anything>/<name>, prints its port on the first stdout line, and
appends one JSON line per request ({"path", "range"}) to LOG_FILE. Query parameters change how it
answers, so one server covers every test case:

  status=N        answer with HTTP status N and a short text body
  ignore_range=1  send the whole file with 200 even when a Range header asks for part of it
  drop_after=N    promise the full Content-Length but close the connection after N body bytes
  stall_after=N   send N body bytes, then go silent (the client's stall timeout must fire)
  etag=V          send ETag: "V"          linked_etag=V   send X-Linked-Etag: "V"
  redirect=1      answer 302 to the same URL without redirect=1 (headers above are sent too)
"""
import json
import os
import re
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(sys.argv[1])
LOG = sys.argv[2]
STALL_SECONDS = 60


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        with open(LOG, "a") as log:
            log.write(json.dumps({"path": self.path, "range": self.headers.get("Range")}) + "\n")

        extra = []
        if "etag" in q:
            extra.append(("ETag", '"%s"' % q["etag"]))
        if "linked_etag" in q:
            extra.append(("X-Linked-Etag", '"%s"' % q["linked_etag"]))

        if q.get("redirect") == "1":
            rest = {k: v for k, v in q.items() if k != "redirect"}
            target = url.path + ("?" + urllib.parse.urlencode(rest) if rest else "")
            return self.reply(302, b"moved", extra + [("Location", target)])
        if "status" in q:
            return self.reply(int(q["status"]), b"simulated failure", extra)

        path = os.path.join(ROOT, os.path.basename(url.path))
        if not os.path.isfile(path):
            return self.reply(404, b"no such file", extra)
        with open(path, "rb") as f:
            data = f.read()

        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and q.get("ignore_range") != "1":
            m = re.fullmatch(r"bytes=(\d+)-", wanted)
            if not m:
                return self.reply(400, b"only open-ended ranges are supported", extra)
            start = int(m.group(1))
            if start >= len(data):
                return self.reply(416, b"", extra + [("Content-Range", "bytes */%d" % len(data))])
            status = 206
            extra.append(("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))))
        body = data[start:]

        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        try:
            if "drop_after" in q:
                self.wfile.write(body[: int(q["drop_after"])])
                self.wfile.flush()
                self.close_connection = True
                return
            if "stall_after" in q:
                self.wfile.write(body[: int(q["stall_after"])])
                self.wfile.flush()
                time.sleep(STALL_SECONDS)
                self.close_connection = True
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def reply(self, status, body, headers):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

// qb_codec_tool: runs qbench's reference codecs on raw files, for cross-checks against other
// implementations (tests/py/test_gguf_codecs.py, ggml drivers).
//   qb_codec_tool quantize   FORMAT ROWS K IN.f32 OUT.bin    raw little-endian f32 -> format bytes
//   qb_codec_tool dequantize FORMAT ROWS K IN.bin OUT.f32    format bytes -> raw f32
//   qb_codec_tool info       FORMAT K                        prints block size, row bytes, gguf type
// Exit 0 on success, 1 on a codec refusal (message on stderr), 2 on bad usage or I/O errors.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "qb/formats.h"

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "qb_codec_tool: " << why << "\n"
            << "usage: qb_codec_tool quantize|dequantize FORMAT ROWS K IN OUT\n"
            << "       qb_codec_tool info FORMAT K\n"
            << "formats: " << qb::format_names() << "\n";
  std::exit(2);
}

int64_t parse_count(const char* s, const char* what) {
  char* end = nullptr;
  const long long v = std::strtoll(s, &end, 10);
  if (!*s || *end || v <= 0) usage(std::string(what) + " must be a positive integer, got '" + s + "'");
  return v;
}

std::vector<char> read_file(const std::string& path, size_t expect) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) usage("cannot open '" + path + "'");
  const size_t size = size_t(f.tellg());
  if (size != expect)
    usage("'" + path + "' has " + std::to_string(size) + " bytes, expected " + std::to_string(expect));
  std::vector<char> buf(size);
  f.seekg(0);
  f.read(buf.data(), std::streamsize(size));
  return buf;
}

void write_file(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), std::streamsize(n));
  if (!f) usage("cannot write '" + path + "'");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("missing command");
  const std::string cmd = argv[1];
  if (cmd == "info") {
    if (argc != 4) usage("info takes FORMAT K");
    const qb::FormatTraits* t = qb::find_format(argv[2]);
    if (!t) usage(std::string("unknown format '") + argv[2] + "'");
    const int64_t k = parse_count(argv[3], "K");
    std::cout << "name=" << t->name << " gguf_type=" << t->gguf_type << " block_size=" << t->block_size
              << " block_bytes=" << t->block_bytes << " row_header_bytes=" << t->row_header_bytes
              << " row_bytes=" << (k % t->block_size ? 0 : t->row_bytes(k)) << "\n";
    return 0;
  }
  if (argc != 7) usage("wrong number of arguments");
  const qb::FormatTraits* t = qb::find_format(argv[2]);
  if (!t) usage(std::string("unknown format '") + argv[2] + "'");
  const int64_t rows = parse_count(argv[3], "ROWS"), k = parse_count(argv[4], "K");
  if (k % t->block_size)
    usage("K=" + std::to_string(k) + " is not a multiple of " + std::string(t->name) + "'s block size " +
          std::to_string(t->block_size));
  const size_t qbytes = size_t(rows) * t->row_bytes(k), fbytes = size_t(rows * k) * sizeof(float);
  try {
    if (cmd == "quantize") {
      const std::vector<char> in = read_file(argv[5], fbytes);
      std::vector<char> out(qbytes);
      qb::quantize(t->id, reinterpret_cast<const float*>(in.data()), out.data(), rows, k, argv[5]);
      write_file(argv[6], out.data(), out.size());
    } else if (cmd == "dequantize") {
      const std::vector<char> in = read_file(argv[5], qbytes);
      std::vector<float> out(size_t(rows * k));
      qb::dequantize(t->id, in.data(), out.data(), rows, k);
      write_file(argv[6], out.data(), fbytes);
    } else {
      usage("unknown command '" + cmd + "'");
    }
  } catch (const qb::FormatError& e) {
    std::cerr << "qb_codec_tool: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

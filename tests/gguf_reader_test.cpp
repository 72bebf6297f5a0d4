// GGUF reader/writer: round trips (v2/v3, every value type, nested arrays, alignment), one test
// per class of malformed input (each crafted byte by byte), > 4 GiB offsets, unknown-but-valid
// ggml types, and replay of the fuzzing corpus and regression files.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace fs = std::filesystem;
using namespace qb::gguf;

namespace {

// Little-endian byte builder for crafted files.
struct Bytes {
  std::vector<uint8_t> b;
  Bytes& raw(const void* p, size_t n) {
    auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  Bytes& u8(uint8_t v) { return raw(&v, 1); }
  Bytes& u32(uint32_t v) { return raw(&v, 4); }
  Bytes& u64(uint64_t v) { return raw(&v, 8); }
  Bytes& i64(int64_t v) { return raw(&v, 8); }
  Bytes& str(const std::string& s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Bytes& header(uint64_t nt, uint64_t nkv, uint32_t version = 3) {
    u32(kMagic);
    u32(version);
    u64(nt);
    return u64(nkv);
  }
  // tensor info
  Bytes& tensor(const std::string& name, std::vector<int64_t> dims, uint32_t type, uint64_t off) {
    str(name);
    u32(uint32_t(dims.size()));
    for (auto d : dims) i64(d);
    u32(type);
    return u64(off);
  }
  Bytes& pad(size_t align) {
    while (b.size() % align) b.push_back(0);
    return *this;
  }
  Bytes& zeros(size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
};

ParseError expect_error(const Bytes& bytes, const std::string& field_part, const std::string& what_part) {
  try {
    File::parse(bytes.b.data(), bytes.b.size(), "crafted.gguf");
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("crafted.gguf: byte "), std::string::npos) << e.what();
    EXPECT_NE(e.field.find(field_part), std::string::npos) << "field: " << e.field << " / " << e.what();
    EXPECT_NE(std::string(e.what()).find(what_part), std::string::npos) << e.what();
    return e;
  }
  ADD_FAILURE() << "no error for field " << field_part;
  return ParseError("", 0, "", "");
}

std::string tmp_path(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("qb_gguf_test_" + std::to_string(getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

TEST(GgufTypes, TableMatchesQbenchFormats) {
  for (const auto& f : qb::all_formats()) {
    if (f.gguf_type < 0) continue;
    const GgmlType* t = ggml_type(f.gguf_type);
    ASSERT_NE(t, nullptr) << f.name;
    EXPECT_EQ(t->block_size, f.block_size) << f.name;
    EXPECT_EQ(t->block_bytes, f.block_bytes) << f.name;
    EXPECT_EQ(t->name, f.name);
  }
  for (int removed : {4, 5, 31, 32, 33, 36, 37, 38, 1000}) EXPECT_EQ(ggml_type(removed), nullptr) << removed;
}

TEST(GgufRoundTrip, AllValueTypesNestedArraysAndTensors) {
  for (uint32_t version : {2u, 3u}) {
    for (uint32_t align : {32u, 64u}) {
      Writer w(version);
      w.set("general.architecture", Value::str("llama"));
      if (align != 32) w.set("general.alignment", Value::u32(align));
      w.set("t.u8", Value::u8(250));
      w.set("t.i8", Value::i8(-7));
      w.set("t.u16", Value::u16(65000));
      w.set("t.i16", Value::i16(-30000));
      w.set("t.u32", Value::u32(4000000000u));
      w.set("t.i32", Value::i32(-2000000000));
      w.set("t.u64", Value::u64(1ull << 60));
      w.set("t.i64", Value::i64(-(1ll << 60)));
      w.set("t.f32", Value::f32(1.5f));
      w.set("t.f64", Value::f64(-2.25e100));
      w.set("t.bool", Value::boolean(true));
      w.set("t.str", Value::str(std::string("h\0llo", 5)));
      w.set("t.empty_arr", Value::array(ValueType::U32, {}));
      w.set("t.strs", Value::array(ValueType::STRING, {Value::str("a"), Value::str(""), Value::str("ccc")}));
      w.set("t.nested", Value::array(ValueType::ARRAY, {Value::array(ValueType::I32, {Value::i32(1), Value::i32(-2)}),
                                                        Value::array(ValueType::F32, {Value::f32(0.5f)})}));
      std::vector<float> a(64 * 3), b(32);
      std::mt19937 rng(1);
      std::normal_distribution<float> nd;
      for (auto& x : a) x = nd(rng);
      for (auto& x : b) x = nd(rng);
      std::vector<uint8_t> q(34 * 2 * 3, 0x5a);  // Q8_0 bytes, any content
      w.add_tensor("a", 0, {64, 3}, a.data());
      w.add_tensor("b", 0, {32}, b.data());
      w.add_tensor("q", 8, {64, 3}, q.data());
      w.add_tensor("empty", 0, {0, 4}, nullptr);
      std::string path = tmp_path("rt_v" + std::to_string(version) + "_" + std::to_string(align) + ".gguf");
      w.write(path);

      auto f = File::open(path);
      EXPECT_EQ(f->version(), version);
      EXPECT_EQ(f->alignment(), align);
      EXPECT_EQ(f->data_offset() % align, 0u);
      EXPECT_EQ(f->get_string("general.architecture"), "llama");
      EXPECT_EQ(*f->find("t.u8"), Value::u8(250));
      EXPECT_EQ(*f->find("t.i8"), Value::i8(-7));
      EXPECT_EQ(*f->find("t.u16"), Value::u16(65000));
      EXPECT_EQ(*f->find("t.i16"), Value::i16(-30000));
      EXPECT_EQ(*f->find("t.u32"), Value::u32(4000000000u));
      EXPECT_EQ(*f->find("t.i32"), Value::i32(-2000000000));
      EXPECT_EQ(*f->find("t.u64"), Value::u64(1ull << 60));
      EXPECT_EQ(*f->find("t.i64"), Value::i64(-(1ll << 60)));
      EXPECT_EQ(*f->find("t.f32"), Value::f32(1.5f));
      EXPECT_EQ(*f->find("t.f64"), Value::f64(-2.25e100));
      EXPECT_EQ(*f->find("t.bool"), Value::boolean(true));
      EXPECT_EQ(f->find("t.str")->s, std::string("h\0llo", 5));
      EXPECT_EQ(f->find("t.empty_arr")->items.size(), 0u);
      EXPECT_EQ(f->find("t.strs")->items[2].s, "ccc");
      const Value* n = f->find("t.nested");
      ASSERT_EQ(n->items.size(), 2u);
      EXPECT_EQ(n->items[0].items[1].i, -2);
      EXPECT_EQ(n->items[1].elem, ValueType::F32);
      // Metadata order is preserved.
      EXPECT_EQ(f->metadata()[0].first, "general.architecture");
      ASSERT_EQ(f->tensors().size(), 4u);
      const TensorInfo* ta = f->find_tensor("a");
      ASSERT_NE(ta, nullptr);
      EXPECT_EQ(ta->nbytes, a.size() * 4);
      EXPECT_EQ(ta->n_rows(), 3);
      EXPECT_EQ(ta->format->id, qb::FormatId::F32);
      EXPECT_EQ(std::memcmp(ta->data, a.data(), ta->nbytes), 0);
      EXPECT_EQ(std::memcmp(f->find_tensor("b")->data, b.data(), b.size() * 4), 0);
      const TensorInfo* tq = f->find_tensor("q");
      EXPECT_EQ(tq->nbytes, q.size());
      EXPECT_EQ(std::memcmp(tq->data, q.data(), q.size()), 0);
      for (const auto& t : f->tensors()) {
        EXPECT_EQ(t.offset % align, 0u) << t.name;
        EXPECT_EQ(t.file_offset, f->data_offset() + t.offset);
      }
      EXPECT_EQ(f->find_tensor("empty")->nbytes, 0u);
    }
  }
}

TEST(GgufRoundTrip, UnknownToQbenchButValidTypesParse) {
  Writer w;
  std::vector<uint8_t> d(66 * 2, 1);  // IQ2_XXS: 256 weights in 66 bytes
  w.add_tensor("iq2", 16, {256, 2}, d.data());
  std::string p = tmp_path("iq2.gguf");
  w.write(p);
  auto f = File::open(p);
  const auto& t = f->tensors()[0];
  EXPECT_EQ(t.ggml_type, 16);
  EXPECT_EQ(t.type->name, "IQ2_XXS");
  EXPECT_EQ(t.format, nullptr);
  EXPECT_EQ(t.nbytes, 132u);
}

TEST(GgufRoundTrip, WriterFailureLeavesNothing) {
  std::string p = tmp_path("never.gguf");
  {
    Writer w;
    w.add_tensor("x", 0, {4});
    w.begin(p);
    // destroyed before commit
  }
  EXPECT_FALSE(fs::exists(p));
  for (const auto& e : fs::directory_iterator(fs::path(p).parent_path()))
    EXPECT_EQ(e.path().filename().string().find("never.gguf.tmp"), std::string::npos);
  Writer w2;
  EXPECT_THROW(w2.add_tensor("bad", 2, {33}), qb::UsageError);  // Q4_0 row of 33
  w2.add_tensor("x", 0, {4});
  EXPECT_THROW(w2.add_tensor("x", 0, {4}), qb::UsageError);
}

// > 4 GiB: a sparse file whose only tensor lies past 4 GiB; offsets and sizes are 64-bit.
namespace {
// Resident pages of this process (/proc/self/statm, field 2).
long resident_pages() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = -1;
  in >> size >> resident;
  return resident;
}
}  // namespace

// A repacked model drops the file's copy of a tensor: the pages leave the RSS, and a later read
// still sees the file's bytes.
TEST(GgufRelease, DropsResidentPagesAndKeepsTheBytes) {
  if (resident_pages() < 0) GTEST_SKIP() << "/proc/self/statm is not readable here";
  const long page = sysconf(_SC_PAGESIZE);
  std::vector<uint8_t> q(size_t(34) * 2 * 8192 * 16);  // Q8_0, 8 MiB
  std::mt19937 rng(7);
  for (auto& b : q) b = uint8_t(rng());
  Writer w;
  w.add_tensor("q", 8, {64, 8192 * 16}, q.data());
  const std::string p = tmp_path("release.gguf");
  w.write(p);
  auto f = File::open(p);
  const TensorInfo& t = f->tensors()[0];
  ASSERT_EQ(t.nbytes, q.size());
  ASSERT_EQ(std::memcmp(t.data, q.data(), q.size()), 0);  // every page now mapped in
  const long before = resident_pages();
  f->release(t.data, t.nbytes);
  const long after = resident_pages();
  const long whole_pages = long(q.size()) / page - 1;  // pages wholly inside the tensor, at least
  EXPECT_GE(before - after, whole_pages * 9 / 10) << "before " << before << ", after " << after << " pages";
  EXPECT_EQ(std::memcmp(t.data, q.data(), q.size()), 0);
  f->release(t.data + 1, t.nbytes + 4096);  // past the mapping: ignored, not a crash
  f->release(q.data(), q.size());           // not in the mapping: ignored (q must survive)
  EXPECT_EQ(std::memcmp(t.data, q.data(), q.size()), 0);
}

TEST(GgufLargeFile, OffsetsPast4GiB) {
  const uint64_t off = (5ull << 30);  // 5 GiB into the data section
  Bytes b;
  b.header(2, 0).tensor("small", {8}, 0, 0).tensor("far", {1024, 2}, 0, off).pad(32);
  std::string p = tmp_path("big.gguf");
  {
    std::ofstream o(p, std::ios::binary);
    o.write(reinterpret_cast<const char*>(b.b.data()), std::streamsize(b.b.size()));
  }
  const uint64_t data_start = b.b.size();
  const uint64_t size = data_start + off + 1024 * 2 * 4;
  ASSERT_EQ(truncate(p.c_str(), off_t(size)), 0);
  {  // mark the last float
    int fd = ::open(p.c_str(), O_WRONLY);
    float one = 1.0f;
    ASSERT_EQ(pwrite(fd, &one, 4, off_t(size - 4)), 4);
    ::close(fd);
  }
  auto f = File::open(p);
  const TensorInfo* t = f->find_tensor("far");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->file_offset, data_start + off);
  EXPECT_GT(t->file_offset, 0xffffffffull);
  float last;
  std::memcpy(&last, t->data + t->nbytes - 4, 4);
  EXPECT_EQ(last, 1.0f);
  // One byte short: the tensor runs past the end.
  ASSERT_EQ(truncate(p.c_str(), off_t(size - 1)), 0);
  try {
    File::open(p);
    ADD_FAILURE() << "truncated large file accepted";
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("'far' data"), std::string::npos) << e.what();
  }
  fs::remove(p);
}

// ---- one test per class of malformed input ----------------------------------------------------
TEST(GgufHardening, WrongMagic) {
  Bytes b;
  b.raw("GGML", 4).u32(3).u64(0).u64(0);
  auto e = expect_error(b, "magic", "expected 'GGUF'");
  EXPECT_EQ(e.offset, 0u);
}

TEST(GgufHardening, TruncatedHeader) {
  Bytes b;
  b.u32(kMagic).u32(3).u32(0);
  auto e = expect_error(b, "tensor_count", "truncated");
  EXPECT_EQ(e.offset, 8u);
  Bytes tiny;
  tiny.raw("GG", 2);
  expect_error(tiny, "magic", "truncated");
  Bytes empty;
  expect_error(empty, "magic", "truncated");
}

TEST(GgufHardening, UnsupportedVersion) {
  Bytes v1, v9, be;
  v1.header(0, 0, 1);
  v9.header(0, 0, 9);
  be.u32(kMagic).u32(0x03000000u).u64(0).u64(0);
  expect_error(v1, "version", "version 1");
  expect_error(v9, "version", "unsupported GGUF version 9");
  expect_error(be, "version", "big-endian");
}

TEST(GgufHardening, LyingTensorCount) {
  Bytes b;
  b.header(~0ull >> 1, 0);
  auto e = expect_error(b, "tensor_count", "cannot fit");
  EXPECT_EQ(e.offset, 8u);
}

TEST(GgufHardening, LyingKvCount) {
  Bytes b;
  b.header(0, 1ull << 40);
  expect_error(b, "metadata_kv_count", "cannot fit");
}

TEST(GgufHardening, StringLengthPastEnd) {
  Bytes b;
  b.header(0, 1).u64(1ull << 62).raw("abc", 3).zeros(16);
  auto e = expect_error(b, "metadata[0].key", "exceeds");
  EXPECT_EQ(e.offset, 24u);
  Bytes v;
  v.header(0, 1).str("k").u32(8).u64(100).raw("x", 1);
  expect_error(v, "metadata 'k'", "string length 100");
}

TEST(GgufHardening, UnknownValueType) {
  Bytes b;
  b.header(0, 1).str("k").u32(13).u32(0);
  auto e = expect_error(b, "metadata 'k' (value type)", "unknown value type 13");
  EXPECT_EQ(e.offset, 24u + 8 + 1);
  Bytes a;
  a.header(0, 1).str("k").u32(9).u32(77).u64(1);
  expect_error(a, "array element type", "unknown value type 77");
}

TEST(GgufHardening, LyingArrayLength) {
  Bytes b;
  b.header(0, 1).str("k").u32(9).u32(4).u64(1ull << 61).u32(1);
  expect_error(b, "array length", "needs at least");
  Bytes s;  // strings: at least 8 bytes each
  s.header(0, 1).str("k").u32(9).u32(8).u64(3).u64(0).u64(0);
  expect_error(s, "array length", "needs at least 24");
}

TEST(GgufHardening, TooManyArrayElements) {
  // 2^25 + 1 one-byte elements: the length fits the file (32 MiB of zeros follow), but each
  // element would become a ~100-byte Value; refused before anything is allocated.
  const uint64_t n = kMaxArrayElements + 1;
  Bytes b;
  b.header(0, 1).str("a").u32(9).u32(0).u64(n).zeros(size_t(n));
  expect_error(b, "metadata 'a' (array length)", "elements in total");
}

TEST(GgufHardening, ArraysNestedTooDeep) {
  Bytes b;
  b.header(0, 1).str("k").u32(9);
  for (int d = 0; d < 20; ++d) b.u32(9).u64(1);
  b.u32(4).u64(0);
  expect_error(b, "metadata 'k'", "nested deeper");
}

TEST(GgufHardening, InvalidBool) {
  Bytes b;
  b.header(0, 1).str("k").u32(7).u8(2);
  expect_error(b, "metadata 'k'", "bool value 2");
}

TEST(GgufHardening, DuplicateKey) {
  Bytes b;
  b.header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2);
  auto e = expect_error(b, "metadata[1].key", "duplicate key 'k'");
  EXPECT_EQ(e.offset, 24u + 8 + 1 + 4 + 4);
}

TEST(GgufHardening, BadAlignment) {
  Bytes t, z, np;
  t.header(0, 1).str("general.alignment").u32(10).u64(32);
  z.header(0, 1).str("general.alignment").u32(4).u32(0);
  np.header(0, 1).str("general.alignment").u32(4).u32(48);
  expect_error(t, "general.alignment", "expected type uint32");
  expect_error(z, "general.alignment", "not a power of two");
  expect_error(np, "general.alignment", "not a power of two");
}

TEST(GgufHardening, TooManyDims) {
  Bytes b;
  b.header(1, 0).tensor("t", {1, 1, 1, 1, 1}, 0, 0);
  expect_error(b, "tensor[0] 't'.n_dims", "5 dimensions");
}

TEST(GgufHardening, NegativeOrOverflowingDims) {
  Bytes n, o;
  n.header(1, 0).tensor("t", {4, -1}, 0, 0);
  o.header(1, 0).tensor("t", {1ll << 40, 1ll << 40}, 0, 0);
  expect_error(n, "dims[1]", "negative dimension");
  expect_error(o, "dims[1]", "overflows");
}

TEST(GgufHardening, UnknownTensorType) {
  for (uint32_t bad : {4u, 31u, 38u, 99u, 0xffffffffu}) {
    Bytes b;
    b.header(1, 0).tensor("t", {32}, bad, 0).pad(32).zeros(128);
    expect_error(b, "tensor[0] 't'.type", "unknown ggml tensor type id " + std::to_string(bad));
  }
}

TEST(GgufHardening, RowNotMultipleOfBlock) {
  Bytes b;
  b.header(1, 0).tensor("t", {33, 2}, 2, 0).pad(32).zeros(128);
  expect_error(b, "tensor[0] 't'.type", "not a multiple of Q4_0's block size 32");
}

TEST(GgufHardening, DuplicateTensorName) {
  Bytes b;
  b.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad(32).zeros(64);
  expect_error(b, "tensor[1] 'w'.name", "duplicate tensor name 'w'");
}

TEST(GgufHardening, MisalignedOffset) {
  Bytes b;
  b.header(1, 0).tensor("w", {8}, 0, 4).pad(32).zeros(64);
  expect_error(b, "tensor[0] 'w'.offset", "not a multiple of the alignment 32");
}

TEST(GgufHardening, OverlappingTensors) {
  Bytes b;
  b.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad(32).zeros(128);
  expect_error(b, "tensor 'b' data", "overlap tensor 'a'");
}

TEST(GgufHardening, TensorDataPastEnd) {
  Bytes b;
  b.header(1, 0).tensor("w", {64}, 0, 0).pad(32).zeros(255);  // needs 256
  expect_error(b, "tensor 'w' data", "runs past the end");
  Bytes huge;  // offset near 2^64 must not wrap around
  huge.header(1, 0).tensor("w", {64}, 0, ~0ull - 31).pad(32).zeros(256);
  expect_error(huge, "tensor 'w' data", "runs past the end");
}

TEST(GgufHardening, DataSectionPastEnd) {
  Bytes b;
  b.header(1, 0).tensor("w", {0}, 0, 0);  // ends unaligned, no padding follows
  ASSERT_NE(b.b.size() % 32, 0u);
  expect_error(b, "data section", "truncated");
}

TEST(GgufHardening, TruncatedEverywhere) {
  // Every prefix of a valid file is either rejected with ParseError or (for the full file) accepted.
  Writer w;
  w.set("general.architecture", Value::str("llama"));
  w.set("arr", Value::array(ValueType::STRING, {Value::str("x"), Value::str("yy")}));
  std::vector<float> d(64, 1.0f);
  w.add_tensor("a", 0, {64}, d.data());
  std::string p = tmp_path("prefix.gguf");
  w.write(p);
  std::ifstream in(p, std::ios::binary);
  std::vector<uint8_t> all((std::istreambuf_iterator<char>(in)), {});
  for (size_t n = 0; n < all.size(); ++n)
    EXPECT_THROW(File::parse(all.data(), n, "prefix"), ParseError) << "prefix " << n;
  EXPECT_NO_THROW(File::parse(all.data(), all.size(), "full"));
}

// Seeds and crash regressions found by scripts/fuzz.sh: each must parse or fail cleanly.
TEST(GgufFuzzCorpus, ReplaySeedsAndRegressions) {
  int n = 0;
  for (const char* sub : {"seeds", "regress"}) {
    fs::path dir = fs::path(QB_SOURCE_DIR) / "tests/data/gguf" / sub;
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().filename().string().rfind("README", 0) == 0) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      try {
        auto f = File::parse(bytes.data(), bytes.size(), e.path().filename().string());
        for (const auto& t : f->tensors()) ASSERT_LE(t.file_offset + t.nbytes, bytes.size());
      } catch (const qb::UsageError&) {}
      ++n;
    }
  }
  EXPECT_GT(n, 0) << "no seed files under tests/data/gguf";
}

// Removes this process's scratch directory when the test program ends.
struct ScratchCleanup : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("qb_gguf_test_" + std::to_string(getpid())), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const kScratchCleanup =
    ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

}  // namespace

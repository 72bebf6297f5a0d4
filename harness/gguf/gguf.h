// GGUF model files (versions 2 and 3, little-endian): a hardened reader that memory-maps the file
// and a writer that produces files gguf-py and llama.cpp read back.
//
// Reader: every count, length, size and offset read from the file is checked against the bytes
// that are left before it is used, so a lying header cannot cause an out-of-bounds read, an
// integer overflow or a huge allocation. Any defect throws gguf::ParseError (a qb::UsageError:
// the CLI prints it and exits 2) naming the file, the byte offset, the field and what was expected.
// Tensor data is not copied: TensorInfo::data points into the mapping, valid while the File lives.
//
// Writer: metadata in insertion order, tensor infos, data section aligned to general.alignment
// (default 32), each tensor padded to the alignment. Output goes to a temporary file next to the
// target and is renamed on commit(); a writer destroyed before commit() removes its temporary.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qb/errors.h"
#include "qb/formats.h"

namespace qb::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kDefaultAlignment = 32;
constexpr int kMaxDims = 4;
constexpr int kMaxArrayNesting = 8;
// Total metadata array elements a file may hold (each is materialized as a Value).
constexpr uint64_t kMaxArrayElements = uint64_t(1) << 25;

// ---- ggml tensor types ---------------------------------------------------------------------
// Every type id a GGUF file may carry (including types qbench has no codec for, e.g. IQ2_XXS);
// ids not listed (4, 5, 31-33, 36-38 were removed from ggml; anything past the end) are invalid.
struct GgmlType {
  int id;
  std::string_view name;
  int block_size;
  int block_bytes;
};
const GgmlType* ggml_type(int id);                         // nullptr for invalid ids
const GgmlType* ggml_type_by_name(std::string_view name);  // case-insensitive
std::span<const GgmlType> ggml_types();

// ---- metadata values -----------------------------------------------------------------------
enum class ValueType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
std::string_view value_type_name(ValueType t);
bool valid_value_type(uint32_t t);

struct Value {
  ValueType type = ValueType::U8;
  uint64_t u = 0;                  // U8 U16 U32 U64 BOOL
  int64_t i = 0;                   // I8 I16 I32 I64
  double f = 0;                    // F32 F64
  std::string s;                   // STRING
  ValueType elem = ValueType::U8;  // ARRAY: element type
  std::vector<Value> items;        // ARRAY: elements (all of type elem)

  static Value u8(uint8_t v) {
    Value x;
    x.type = ValueType::U8;
    x.u = v;
    return x;
  }
  static Value i8(int8_t v) {
    Value x;
    x.type = ValueType::I8;
    x.i = v;
    return x;
  }
  static Value u16(uint16_t v) {
    Value x;
    x.type = ValueType::U16;
    x.u = v;
    return x;
  }
  static Value i16(int16_t v) {
    Value x;
    x.type = ValueType::I16;
    x.i = v;
    return x;
  }
  static Value u32(uint32_t v) {
    Value x;
    x.type = ValueType::U32;
    x.u = v;
    return x;
  }
  static Value i32(int32_t v) {
    Value x;
    x.type = ValueType::I32;
    x.i = v;
    return x;
  }
  static Value u64(uint64_t v) {
    Value x;
    x.type = ValueType::U64;
    x.u = v;
    return x;
  }
  static Value i64(int64_t v) {
    Value x;
    x.type = ValueType::I64;
    x.i = v;
    return x;
  }
  static Value f32(float v) {
    Value x;
    x.type = ValueType::F32;
    x.f = v;
    return x;
  }
  static Value f64(double v) {
    Value x;
    x.type = ValueType::F64;
    x.f = v;
    return x;
  }
  static Value boolean(bool v) {
    Value x;
    x.type = ValueType::BOOL;
    x.u = v;
    return x;
  }
  static Value str(std::string v) {
    Value x;
    x.type = ValueType::STRING;
    x.s = std::move(v);
    return x;
  }
  static Value array(ValueType elem, std::vector<Value> items) {
    Value x;
    x.type = ValueType::ARRAY;
    x.elem = elem;
    x.items = std::move(items);
    return x;
  }

  bool is_integer() const;
  bool is_float() const { return type == ValueType::F32 || type == ValueType::F64; }
  bool is_string() const { return type == ValueType::STRING; }
  bool is_array() const { return type == ValueType::ARRAY; }
  // Numeric value of an integer, float or bool (arrays: their first element; else 0).
  double as_double() const;
  int64_t as_int() const;
  // A short human-readable rendering (arrays: "[n x type]" with the first few items).
  std::string to_string(size_t max_items = 4) const;
  bool operator==(const Value& o) const;
};

// ---- reader ---------------------------------------------------------------------------------
struct ParseError : UsageError {
  ParseError(const std::string& file, uint64_t offset, const std::string& field, const std::string& what);
  std::string file;
  uint64_t offset;
  std::string field;
};

struct TensorInfo {
  std::string name;
  int ggml_type = 0;                     // raw GGUF type id
  const GgmlType* type = nullptr;        // never null in a parsed file
  const FormatTraits* format = nullptr;  // qbench's row for this type; nullptr if qbench has none
  std::vector<int64_t> dims;             // dims[0] = row length (ggml ne[0])
  uint64_t offset = 0;                   // relative to the data section
  uint64_t file_offset = 0;              // absolute
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // into the mapping
  uint64_t info_offset = 0;       // where this tensor's info record starts in the file

  int64_t n_elements() const;
  int64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
  int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
  int n_dims_effective() const;  // like ggml_n_dims: trailing 1s do not count (min 1)
  double bits_per_weight() const { return n_elements() ? 8.0 * double(nbytes) / double(n_elements()) : 0.0; }
  std::string shape_string() const;  // "640 x 262144"
};

class File {
 public:
  // Opens and maps path. Throws ParseError (bad content) or UsageError (cannot open).
  static std::unique_ptr<File> open(const std::string& path);
  // Parses a buffer the caller keeps alive (fuzzing, tests). `name` is used in errors.
  static std::unique_ptr<File> parse(const uint8_t* bytes, uint64_t size, const std::string& name);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return size_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, Value>>& metadata() const { return kv_; }
  const Value* find(std::string_view key) const;
  std::string get_string(std::string_view key, std::string fallback = "") const;
  int64_t get_int(std::string_view key, int64_t fallback = -1) const;
  std::string architecture() const { return get_string("general.architecture"); }

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  // Drops the mapped pages wholly inside [p, p + n) from this process's memory, for tensors a
  // model copied (a repacked layout): they no longer count in its RSS, and a later read maps them
  // again from the file. No-op for parse()d buffers (those belong to the caller).
  void release(const uint8_t* p, uint64_t n) const;

 private:
  File() = default;
  void parse_all();
  std::string path_;
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  void* map_ = nullptr;  // non-null when we own an mmap
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, Value>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Byte size of a tensor of this type and shape; throws UsageError if dims[0] is not a multiple of
// the block size or the size overflows.
uint64_t tensor_nbytes(const GgmlType& t, std::span<const int64_t> dims, std::string_view what);

// ---- writer ---------------------------------------------------------------------------------
class Writer {
 public:
  explicit Writer(uint32_t version = 3);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Metadata keeps insertion order; set() on an existing key replaces its value in place.
  void set(const std::string& key, Value v);
  void remove(const std::string& key);
  const Value* find(std::string_view key) const;
  // Copies every key/value of a parsed file.
  void copy_metadata(const File& f);

  // Declares a tensor; its byte size follows from type and dims. `data` (optional) must stay
  // valid until write()/write_tensor. Returns its index.
  size_t add_tensor(const std::string& name, int ggml_type, std::vector<int64_t> dims, const void* data = nullptr);
  uint64_t tensor_nbytes(size_t i) const { return tensors_[i].nbytes; }
  size_t n_tensors() const { return tensors_.size(); }

  // One-shot: every tensor was given data. Atomic (temporary + rename).
  void write(const std::string& path);

  // Streaming: begin() writes header and tensor infos to a temporary next to path; then
  // write_tensor() for each tensor in order; commit() renames the temporary onto path.
  void begin(const std::string& path);
  void write_tensor(size_t i, const void* data, uint64_t nbytes);
  void commit();
  void abort();  // removes the temporary (also done by the destructor before commit)

 private:
  struct T {
    std::string name;
    int type;
    std::vector<int64_t> dims;
    uint64_t nbytes;
    uint64_t offset;
    const void* data;
  };
  uint32_t alignment() const;
  void put(const void* p, size_t n);
  void pad_to(uint64_t align);
  void put_value(const Value& v, const std::string& key, int depth);

  uint32_t version_;
  std::vector<std::pair<std::string, Value>> kv_;
  std::vector<T> tensors_;
  std::string path_, tmp_;
  std::FILE* out_ = nullptr;
  uint64_t pos_ = 0;
  size_t next_tensor_ = 0;
};

}  // namespace qb::gguf

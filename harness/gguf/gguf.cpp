// GGUF reader and writer; see gguf.h for the contract.
#include "gguf/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstring>
#include <limits>

namespace qb::gguf {

// ---- type table -----------------------------------------------------------------------------
namespace {
// id, name, weights per block, bytes per block (the public ggml block layouts).
constexpr GgmlType kTypes[] = {
    {0, "F32", 1, 4},         {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},      {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},    {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},   {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},        {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},    {41, "Q1_0", 128, 18},
};

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower((unsigned char)a[i]) != std::tolower((unsigned char)b[i])) return false;
  return true;
}

std::string hex_offset(uint64_t off) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%" PRIu64 " (0x%" PRIx64 ")", off, off);
  return buf;
}

// Printable form of a (possibly binary) name read from a file.
std::string printable(std::string_view s, size_t max = 80) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f)
      out += char(c);
    else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

bool mul_overflow(uint64_t a, uint64_t b, uint64_t* r) { return __builtin_mul_overflow(a, b, r); }
bool add_overflow(uint64_t a, uint64_t b, uint64_t* r) { return __builtin_add_overflow(a, b, r); }
}  // namespace

const GgmlType* ggml_type(int id) {
  for (const auto& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}
const GgmlType* ggml_type_by_name(std::string_view name) {
  for (const auto& t : kTypes)
    if (iequal(t.name, name)) return &t;
  return nullptr;
}
std::span<const GgmlType> ggml_types() { return kTypes; }

uint64_t tensor_nbytes(const GgmlType& t, std::span<const int64_t> dims, std::string_view what) {
  int64_t ne0 = dims.empty() ? 1 : dims[0];
  if (ne0 % t.block_size != 0)
    throw UsageError(std::string(what) + ": row length " + std::to_string(ne0) + " is not a multiple of " +
                     std::string(t.name) + "'s block size " + std::to_string(t.block_size));
  uint64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i)
    if (mul_overflow(rows, uint64_t(dims[i]), &rows))
      throw UsageError(std::string(what) + ": tensor size overflows 64 bits");
  uint64_t row_bytes = uint64_t(ne0 / t.block_size) * uint64_t(t.block_bytes), n;
  if (mul_overflow(rows, row_bytes, &n)) throw UsageError(std::string(what) + ": tensor size overflows 64 bits");
  return n;
}

// ---- values ---------------------------------------------------------------------------------
std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::U8:
      return "uint8";
    case ValueType::I8:
      return "int8";
    case ValueType::U16:
      return "uint16";
    case ValueType::I16:
      return "int16";
    case ValueType::U32:
      return "uint32";
    case ValueType::I32:
      return "int32";
    case ValueType::F32:
      return "float32";
    case ValueType::BOOL:
      return "bool";
    case ValueType::STRING:
      return "string";
    case ValueType::ARRAY:
      return "array";
    case ValueType::U64:
      return "uint64";
    case ValueType::I64:
      return "int64";
    case ValueType::F64:
      return "float64";
  }
  return "?";
}
bool valid_value_type(uint32_t t) { return t <= 12; }

namespace {
// Encoded size of a scalar type (0 for string/array).
uint64_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::U8:
    case ValueType::I8:
    case ValueType::BOOL:
      return 1;
    case ValueType::U16:
    case ValueType::I16:
      return 2;
    case ValueType::U32:
    case ValueType::I32:
    case ValueType::F32:
      return 4;
    case ValueType::U64:
    case ValueType::I64:
    case ValueType::F64:
      return 8;
    default:
      return 0;
  }
}
// Fewest bytes one element of this type takes in the file.
uint64_t min_encoded_size(ValueType t) {
  if (t == ValueType::STRING) return 8;
  if (t == ValueType::ARRAY) return 12;
  return scalar_size(t);
}
bool is_signed(ValueType t) {
  return t == ValueType::I8 || t == ValueType::I16 || t == ValueType::I32 || t == ValueType::I64;
}
bool is_unsigned(ValueType t) {
  return t == ValueType::U8 || t == ValueType::U16 || t == ValueType::U32 || t == ValueType::U64 ||
         t == ValueType::BOOL;
}
}  // namespace

bool Value::is_integer() const { return is_signed(type) || (is_unsigned(type) && type != ValueType::BOOL); }

double Value::as_double() const {
  if (is_signed(type)) return double(i);
  if (is_unsigned(type)) return double(u);
  if (is_float()) return f;
  if (type == ValueType::ARRAY && !items.empty()) return items[0].as_double();
  return 0;
}
int64_t Value::as_int() const {
  if (is_signed(type)) return i;
  if (is_unsigned(type)) return int64_t(u);
  if (is_float()) return int64_t(f);
  if (type == ValueType::ARRAY && !items.empty()) return items[0].as_int();
  return 0;
}

std::string Value::to_string(size_t max_items) const {
  char buf[64];
  switch (type) {
    case ValueType::STRING:
      return s;
    case ValueType::BOOL:
      return u ? "true" : "false";
    case ValueType::F32:
    case ValueType::F64:
      std::snprintf(buf, sizeof buf, "%.9g", f);
      return buf;
    case ValueType::ARRAY: {
      std::string r = "[" + std::to_string(items.size()) + " x " + std::string(value_type_name(elem)) + "]";
      if (max_items && !items.empty()) {
        r += " ";
        for (size_t k = 0; k < items.size() && k < max_items; ++k) {
          if (k) r += ", ";
          std::string e = items[k].to_string(2);
          if (items[k].is_string()) e = "'" + printable(e, 24) + "'";
          r += e;
        }
        if (items.size() > max_items) r += ", ...";
      }
      return r;
    }
    default:
      if (is_signed(type)) return std::to_string(i);
      return std::to_string(u);
  }
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  switch (type) {
    case ValueType::STRING:
      return s == o.s;
    case ValueType::F32:
    case ValueType::F64:
      return f == o.f || (std::isnan(f) && std::isnan(o.f));
    case ValueType::ARRAY:
      return elem == o.elem && items == o.items;
    default:
      return is_signed(type) ? i == o.i : u == o.u;
  }
}

// ---- reader ---------------------------------------------------------------------------------
ParseError::ParseError(const std::string& file_, uint64_t offset_, const std::string& field_, const std::string& what)
    : UsageError(file_ + ": byte " + hex_offset(offset_) + ": " + field_ + ": " + what),
      file(file_),
      offset(offset_),
      field(field_) {}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;  // validated not to overflow at parse time
  return n;
}
int TensorInfo::n_dims_effective() const {
  int n = int(dims.size());
  while (n > 1 && dims[n - 1] == 1) --n;
  return std::max(n, 1);
}
std::string TensorInfo::shape_string() const {
  std::string r;
  for (size_t k = 0; k < dims.size(); ++k) {
    if (k) r += " x ";
    r += std::to_string(dims[k]);
  }
  return r.empty() ? "scalar" : r;
}

namespace {
// Bounds-checked cursor over the file bytes; every read names its field for errors.
struct Cursor {
  const uint8_t* base;
  uint64_t size;
  uint64_t pos;
  const std::string& file;
  uint64_t array_elements = 0;  // metadata array elements materialized so far (kMaxArrayElements)

  [[noreturn]] void fail(uint64_t at, const std::string& field, const std::string& what) const {
    throw ParseError(file, at, field, what);
  }
  uint64_t left() const { return size - pos; }
  void need(uint64_t n, const std::string& field) const {
    if (n > left())
      fail(pos, field,
           "truncated file: need " + std::to_string(n) + " bytes, only " + std::to_string(left()) +
               " left (file size " + std::to_string(size) + ")");
  }
  template <class T>
  T get(const std::string& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, base + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string get_string(const std::string& field) {
    uint64_t at = pos;
    uint64_t len = get<uint64_t>(field + " (string length)");
    if (len > left())
      fail(at, field,
           "string length " + std::to_string(len) + " exceeds the " + std::to_string(left()) +
               " bytes left in the file");
    std::string s(reinterpret_cast<const char*>(base + pos), size_t(len));
    pos += len;
    return s;
  }
};

Value read_value(Cursor& c, ValueType t, const std::string& field, int depth) {
  Value v;
  v.type = t;
  switch (t) {
    case ValueType::U8:
      v.u = c.get<uint8_t>(field);
      break;
    case ValueType::I8:
      v.i = c.get<int8_t>(field);
      break;
    case ValueType::U16:
      v.u = c.get<uint16_t>(field);
      break;
    case ValueType::I16:
      v.i = c.get<int16_t>(field);
      break;
    case ValueType::U32:
      v.u = c.get<uint32_t>(field);
      break;
    case ValueType::I32:
      v.i = c.get<int32_t>(field);
      break;
    case ValueType::U64:
      v.u = c.get<uint64_t>(field);
      break;
    case ValueType::I64:
      v.i = c.get<int64_t>(field);
      break;
    case ValueType::F32:
      v.f = c.get<float>(field);
      break;
    case ValueType::F64:
      v.f = c.get<double>(field);
      break;
    case ValueType::BOOL: {
      uint64_t at = c.pos;
      uint8_t b = c.get<uint8_t>(field);
      if (b > 1) c.fail(at, field, "bool value " + std::to_string(b) + ", expected 0 or 1");
      v.u = b;
      break;
    }
    case ValueType::STRING:
      v.s = c.get_string(field);
      break;
    case ValueType::ARRAY: {
      uint64_t at = c.pos;
      if (depth >= kMaxArrayNesting)
        c.fail(at, field, "arrays nested deeper than " + std::to_string(kMaxArrayNesting) + " levels");
      uint32_t et = c.get<uint32_t>(field + " (array element type)");
      if (!valid_value_type(et))
        c.fail(at, field + " (array element type)", "unknown value type " + std::to_string(et) + ", expected 0..12");
      v.elem = ValueType(et);
      uint64_t at_n = c.pos;
      uint64_t n = c.get<uint64_t>(field + " (array length)");
      uint64_t min = min_encoded_size(v.elem);
      if (n > c.left() / min)
        c.fail(at_n, field + " (array length)",
               "array of " + std::to_string(n) + " " + std::string(value_type_name(v.elem)) + " needs at least " +
                   (n > std::numeric_limits<uint64_t>::max() / min ? std::string("2^64") : std::to_string(n * min)) +
                   " bytes, only " + std::to_string(c.left()) + " left");
      // Each element becomes a Value (~100 bytes): cap the total so a file made of huge arrays of
      // 1-byte elements cannot make the reader allocate ~100x its size.
      if (n > kMaxArrayElements - c.array_elements)
        c.fail(at_n, field + " (array length)",
               "metadata arrays hold more than " + std::to_string(kMaxArrayElements) +
                   " elements in total; refusing to load them (real models need a few million at most)");
      c.array_elements += n;
      v.items.reserve(size_t(n));
      for (uint64_t k = 0; k < n; ++k) v.items.push_back(read_value(c, v.elem, field, depth + 1));
      break;
    }
  }
  return v;
}
}  // namespace

std::unique_ptr<File> File::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int e = errno;
    ::close(fd);
    throw UsageError("'" + path + "' is not a regular file" + (e ? std::string(": ") + std::strerror(e) : ""));
  }
  std::unique_ptr<File> f(new File());
  f->path_ = path;
  f->size_ = uint64_t(st.st_size);
  if (f->size_ > 0) {
    void* m = mmap(nullptr, size_t(f->size_), PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      throw UsageError("cannot map '" + path + "': " + std::strerror(e));
    }
    f->map_ = m;
    f->base_ = static_cast<const uint8_t*>(m);
  }
  ::close(fd);
  f->parse_all();
  return f;
}

void File::release(const uint8_t* p, uint64_t n) const {
  if (!map_ || p < base_ || n > size_ || p - base_ > int64_t(size_ - n)) return;
  const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t a = (uintptr_t(p) + page - 1) / page * page, b = (uintptr_t(p) + n) / page * page;
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);  // advisory: failure keeps the pages
}

std::unique_ptr<File> File::parse(const uint8_t* bytes, uint64_t size, const std::string& name) {
  std::unique_ptr<File> f(new File());
  f->path_ = name;
  f->base_ = bytes;
  f->size_ = size;
  f->parse_all();
  return f;
}

File::~File() {
  if (map_) munmap(map_, size_t(size_));
}

void File::parse_all() {
  static const uint8_t kEmpty[1] = {0};
  Cursor c{base_ ? base_ : kEmpty, size_, 0, path_};

  // Header.
  if (size_ < 4)
    c.fail(0, "magic",
           "truncated file: " + std::to_string(size_) + " bytes, a GGUF file starts with the 4-byte magic 'GGUF'");
  uint32_t magic = c.get<uint32_t>("magic");
  if (magic != kMagic) {
    std::string got = printable(std::string_view(reinterpret_cast<const char*>(base_), 4));
    c.fail(0, "magic", "expected 'GGUF' (47 47 55 46), got '" + got + "': not a GGUF file");
  }
  uint32_t version = c.get<uint32_t>("version");
  if (version == 0x02000000u || version == 0x03000000u)
    c.fail(4, "version",
           "big-endian GGUF file (version bytes read as " + std::to_string(version) +
               "); only little-endian files are supported");
  if (version == 1) c.fail(4, "version", "GGUF version 1 (32-bit counts) is not supported, expected 2 or 3");
  if (version != 2 && version != 3)
    c.fail(4, "version", "unsupported GGUF version " + std::to_string(version) + ", expected 2 or 3");
  version_ = version;
  uint64_t n_tensors = c.get<uint64_t>("tensor_count");
  uint64_t n_kv = c.get<uint64_t>("metadata_kv_count");
  // A tensor info takes at least 24 bytes (empty name, 0 dims), a key/value at least 13.
  if (n_tensors > c.left() / 24)
    c.fail(8, "tensor_count",
           std::to_string(n_tensors) + " tensors cannot fit in the " + std::to_string(c.left()) +
               " bytes left (each tensor info takes at least 24 bytes)");
  if (n_kv > c.left() / 13)
    c.fail(16, "metadata_kv_count",
           std::to_string(n_kv) + " key/value pairs cannot fit in the " + std::to_string(c.left()) +
               " bytes left (each takes at least 13 bytes)");

  // Metadata.
  kv_.reserve(size_t(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    uint64_t at = c.pos;
    std::string field = "metadata[" + std::to_string(k) + "].key";
    std::string key = c.get_string(field);
    if (key.empty()) c.fail(at, field, "empty key");
    if (kv_index_.count(key)) c.fail(at, field, "duplicate key '" + printable(key) + "'");
    std::string vfield = "metadata '" + printable(key) + "'";
    uint64_t at_t = c.pos;
    uint32_t t = c.get<uint32_t>(vfield + " (value type)");
    if (!valid_value_type(t))
      c.fail(at_t, vfield + " (value type)", "unknown value type " + std::to_string(t) + ", expected 0..12");
    Value v = read_value(c, ValueType(t), vfield, 0);
    if (key == "general.alignment") {
      if (v.type != ValueType::U32)
        c.fail(at_t, vfield, "expected type uint32, got " + std::string(value_type_name(v.type)));
      if (v.u == 0 || (v.u & (v.u - 1)) != 0)
        c.fail(at_t + 4, vfield, "alignment " + std::to_string(v.u) + " is not a power of two");
      alignment_ = uint32_t(v.u);
    }
    kv_index_.emplace(key, kv_.size());
    kv_.emplace_back(std::move(key), std::move(v));
  }

  // Tensor infos.
  tensors_.reserve(size_t(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    TensorInfo ti;
    ti.info_offset = c.pos;
    std::string field = "tensor[" + std::to_string(k) + "]";
    ti.name = c.get_string(field + ".name");
    field = "tensor[" + std::to_string(k) + "] '" + printable(ti.name) + "'";
    if (tensor_index_.count(ti.name))
      c.fail(ti.info_offset, field + ".name", "duplicate tensor name '" + printable(ti.name) + "'");
    uint64_t at = c.pos;
    uint32_t nd = c.get<uint32_t>(field + ".n_dims");
    if (nd > uint32_t(kMaxDims))
      c.fail(at, field + ".n_dims", std::to_string(nd) + " dimensions, expected at most " + std::to_string(kMaxDims));
    uint64_t elems = 1;
    for (uint32_t d = 0; d < nd; ++d) {
      at = c.pos;
      int64_t ne = c.get<int64_t>(field + ".dims[" + std::to_string(d) + "]");
      if (ne < 0) c.fail(at, field + ".dims[" + std::to_string(d) + "]", "negative dimension " + std::to_string(ne));
      if (mul_overflow(elems, uint64_t(ne), &elems) || elems > uint64_t(std::numeric_limits<int64_t>::max()))
        c.fail(at, field + ".dims[" + std::to_string(d) + "]", "element count overflows 63 bits");
      ti.dims.push_back(ne);
    }
    at = c.pos;
    uint32_t type = c.get<uint32_t>(field + ".type");
    ti.ggml_type = int(type);
    ti.type = type <= 1024 ? ggml_type(int(type)) : nullptr;
    if (!ti.type) c.fail(at, field + ".type", "unknown ggml tensor type id " + std::to_string(type));
    ti.format = find_format_by_gguf_type(int(type));
    if (ti.row_length() % ti.type->block_size != 0)
      c.fail(at, field + ".type",
             "row length " + std::to_string(ti.row_length()) + " is not a multiple of " + std::string(ti.type->name) +
                 "'s block size " + std::to_string(ti.type->block_size));
    ti.nbytes = tensor_nbytes(*ti.type, ti.dims, field);  // cannot overflow: elems < 2^63, bytes/elem <= 8
    at = c.pos;
    ti.offset = c.get<uint64_t>(field + ".offset");
    if (ti.offset % alignment_ != 0)
      c.fail(at, field + ".offset",
             "data offset " + std::to_string(ti.offset) + " is not a multiple of the alignment " +
                 std::to_string(alignment_));
    tensor_index_.emplace(ti.name, tensors_.size());
    tensors_.push_back(std::move(ti));
  }

  // Data section: starts at the next multiple of the alignment.
  uint64_t info_end = c.pos;
  data_offset_ = (info_end + alignment_ - 1) / alignment_ * alignment_;
  if (!tensors_.empty() && data_offset_ > size_)
    c.fail(info_end, "data section",
           "truncated file: data section would start at byte " + std::to_string(data_offset_) +
               ", past the end of the file (size " + std::to_string(size_) + ")");
  uint64_t data_size = data_offset_ <= size_ ? size_ - data_offset_ : 0;

  // Every tensor inside the data section, none overlapping.
  std::vector<size_t> order(tensors_.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tensors_[a].offset != tensors_[b].offset ? tensors_[a].offset < tensors_[b].offset : a < b;
  });
  for (size_t k = 0; k < order.size(); ++k) {
    TensorInfo& t = tensors_[order[k]];
    uint64_t end;
    std::string field = "tensor '" + printable(t.name) + "' data";
    uint64_t off_field = t.info_offset + 8 + t.name.size() + 4 + 8 * t.dims.size() + 4;
    if (add_overflow(t.offset, t.nbytes, &end) || end > data_size)
      c.fail(off_field, field,
             "offset " + std::to_string(t.offset) + " + size " + std::to_string(t.nbytes) +
                 " runs past the end of the data section (" + std::to_string(data_size) + " bytes from byte " +
                 std::to_string(data_offset_) + "): truncated file?");
    if (k > 0) {
      const TensorInfo& p = tensors_[order[k - 1]];
      if (t.offset < p.offset + p.nbytes)
        c.fail(off_field, field,
               "bytes [" + std::to_string(t.offset) + ", " + std::to_string(end) + ") overlap tensor '" +
                   printable(p.name) + "' at [" + std::to_string(p.offset) + ", " +
                   std::to_string(p.offset + p.nbytes) + ")");
    }
    t.file_offset = data_offset_ + t.offset;
    t.data = base_ ? base_ + t.file_offset : nullptr;
  }
}

const Value* File::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}
std::string File::get_string(std::string_view key, std::string fallback) const {
  const Value* v = find(key);
  return v && v->is_string() ? v->s : fallback;
}
int64_t File::get_int(std::string_view key, int64_t fallback) const {
  const Value* v = find(key);
  if (!v) return fallback;
  if (v->is_integer() || v->is_float() || (v->is_array() && !v->items.empty() && !v->items[0].is_string()))
    return v->as_int();
  return fallback;
}
const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

// ---- writer ---------------------------------------------------------------------------------
Writer::Writer(uint32_t version) : version_(version) {
  if (version != 2 && version != 3)
    throw UsageError("GGUF writer: version " + std::to_string(version) + ", expected 2 or 3");
}
Writer::~Writer() { abort(); }

void Writer::set(const std::string& key, Value v) {
  if (key.empty()) throw UsageError("GGUF writer: empty metadata key");
  if (key == "general.alignment") {
    if (v.type != ValueType::U32 || v.u == 0 || (v.u & (v.u - 1)))
      throw UsageError("GGUF writer: general.alignment must be a uint32 power of two");
  }
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}
void Writer::remove(const std::string& key) {
  kv_.erase(std::remove_if(kv_.begin(), kv_.end(), [&](const auto& kv) { return kv.first == key; }), kv_.end());
}
const Value* Writer::find(std::string_view key) const {
  for (const auto& kv : kv_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}
void Writer::copy_metadata(const File& f) {
  for (const auto& kv : f.metadata()) set(kv.first, kv.second);
}

uint32_t Writer::alignment() const {
  const Value* a = find("general.alignment");
  return a ? uint32_t(a->u) : kDefaultAlignment;
}

size_t Writer::add_tensor(const std::string& name, int type, std::vector<int64_t> dims, const void* data) {
  if (out_) throw UsageError("GGUF writer: add_tensor after begin()");
  const GgmlType* t = ggml_type(type);
  if (!t) throw UsageError("GGUF writer: tensor '" + name + "': invalid ggml type id " + std::to_string(type));
  if (dims.size() > size_t(kMaxDims)) throw UsageError("GGUF writer: tensor '" + name + "': more than 4 dimensions");
  for (auto d : dims)
    if (d < 0) throw UsageError("GGUF writer: tensor '" + name + "': negative dimension");
  for (const auto& x : tensors_)
    if (x.name == name) throw UsageError("GGUF writer: duplicate tensor name '" + name + "'");
  uint64_t nbytes = gguf::tensor_nbytes(*t, dims, "GGUF writer: tensor '" + name + "'");
  tensors_.push_back({name, type, std::move(dims), nbytes, 0, data});
  return tensors_.size() - 1;
}

void Writer::put(const void* p, size_t n) {
  if (n && std::fwrite(p, 1, n, out_) != n) throw UsageError("cannot write '" + tmp_ + "': " + std::strerror(errno));
  pos_ += n;
}
void Writer::pad_to(uint64_t align) {
  static const uint8_t zeros[256] = {};
  uint64_t pad = (align - pos_ % align) % align;
  while (pad) {
    size_t n = size_t(std::min<uint64_t>(pad, sizeof zeros));
    put(zeros, n);
    pad -= n;
  }
}
void Writer::put_value(const Value& v, const std::string& key, int depth) {
  auto str = [&](const std::string& s) {
    uint64_t n = s.size();
    put(&n, 8);
    put(s.data(), s.size());
  };
  switch (v.type) {
    case ValueType::U8: {
      uint8_t x = uint8_t(v.u);
      put(&x, 1);
      break;
    }
    case ValueType::I8: {
      int8_t x = int8_t(v.i);
      put(&x, 1);
      break;
    }
    case ValueType::U16: {
      uint16_t x = uint16_t(v.u);
      put(&x, 2);
      break;
    }
    case ValueType::I16: {
      int16_t x = int16_t(v.i);
      put(&x, 2);
      break;
    }
    case ValueType::U32: {
      uint32_t x = uint32_t(v.u);
      put(&x, 4);
      break;
    }
    case ValueType::I32: {
      int32_t x = int32_t(v.i);
      put(&x, 4);
      break;
    }
    case ValueType::U64: {
      uint64_t x = v.u;
      put(&x, 8);
      break;
    }
    case ValueType::I64: {
      int64_t x = v.i;
      put(&x, 8);
      break;
    }
    case ValueType::F32: {
      float x = float(v.f);
      put(&x, 4);
      break;
    }
    case ValueType::F64: {
      double x = v.f;
      put(&x, 8);
      break;
    }
    case ValueType::BOOL: {
      uint8_t x = v.u ? 1 : 0;
      put(&x, 1);
      break;
    }
    case ValueType::STRING:
      str(v.s);
      break;
    case ValueType::ARRAY: {
      if (depth >= kMaxArrayNesting) throw UsageError("GGUF writer: '" + key + "': arrays nested too deep");
      uint32_t et = uint32_t(v.elem);
      uint64_t n = v.items.size();
      put(&et, 4);
      put(&n, 8);
      for (const auto& it : v.items) {
        if (it.type != v.elem)
          throw UsageError("GGUF writer: '" + key + "': array of " + std::string(value_type_name(v.elem)) +
                           " holds a " + std::string(value_type_name(it.type)));
        put_value(it, key, depth + 1);
      }
      break;
    }
  }
}

void Writer::begin(const std::string& path) {
  if (out_) throw UsageError("GGUF writer: begin() called twice");
  path_ = path;
  tmp_ = path + ".tmp." + std::to_string(getpid());
  out_ = std::fopen(tmp_.c_str(), "wb");
  if (!out_) throw UsageError("cannot write '" + tmp_ + "': " + std::strerror(errno));
  pos_ = 0;
  next_tensor_ = 0;
  const uint32_t align = alignment();
  uint64_t off = 0;
  for (auto& t : tensors_) {
    t.offset = off;
    off += (t.nbytes + align - 1) / align * align;
  }
  uint32_t magic = kMagic;
  uint64_t nt = tensors_.size(), nkv = kv_.size();
  put(&magic, 4);
  put(&version_, 4);
  put(&nt, 8);
  put(&nkv, 8);
  for (const auto& kv : kv_) {
    uint64_t n = kv.first.size();
    put(&n, 8);
    put(kv.first.data(), kv.first.size());
    uint32_t ty = uint32_t(kv.second.type);
    put(&ty, 4);
    put_value(kv.second, kv.first, 0);
  }
  for (const auto& t : tensors_) {
    uint64_t n = t.name.size();
    put(&n, 8);
    put(t.name.data(), t.name.size());
    uint32_t nd = uint32_t(t.dims.size());
    put(&nd, 4);
    for (int64_t d : t.dims) put(&d, 8);
    uint32_t ty = uint32_t(t.type);
    put(&ty, 4);
    put(&t.offset, 8);
  }
  pad_to(align);
}

void Writer::write_tensor(size_t i, const void* data, uint64_t nbytes) {
  if (!out_) throw UsageError("GGUF writer: write_tensor before begin()");
  if (i != next_tensor_ || i >= tensors_.size())
    throw UsageError("GGUF writer: tensors must be written in order (expected #" + std::to_string(next_tensor_) + ")");
  const T& t = tensors_[i];
  if (nbytes != t.nbytes)
    throw UsageError("GGUF writer: tensor '" + t.name + "': " + std::to_string(nbytes) + " bytes given, " +
                     std::to_string(t.nbytes) + " expected");
  put(data, size_t(nbytes));
  pad_to(alignment());
  ++next_tensor_;
}

void Writer::commit() {
  if (!out_) throw UsageError("GGUF writer: commit before begin()");
  if (next_tensor_ != tensors_.size())
    throw UsageError("GGUF writer: " + std::to_string(tensors_.size() - next_tensor_) + " tensors not written");
  bool ok = std::fflush(out_) == 0 && fsync(fileno(out_)) == 0;
  ok = (std::fclose(out_) == 0) && ok;
  out_ = nullptr;
  if (!ok) {
    std::remove(tmp_.c_str());
    throw UsageError("cannot write '" + tmp_ + "': " + std::strerror(errno));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    int e = errno;
    std::remove(tmp_.c_str());
    throw UsageError("cannot rename '" + tmp_ + "' to '" + path_ + "': " + std::strerror(e));
  }
  tmp_.clear();
}

void Writer::abort() {
  if (out_) {
    std::fclose(out_);
    out_ = nullptr;
  }
  if (!tmp_.empty()) {
    std::remove(tmp_.c_str());
    tmp_.clear();
  }
}

void Writer::write(const std::string& path) {
  for (const auto& t : tensors_)
    if (!t.data && t.nbytes) throw UsageError("GGUF writer: tensor '" + t.name + "' has no data");
  begin(path);
  try {
    for (size_t i = 0; i < tensors_.size(); ++i) write_tensor(i, tensors_[i].data, tensors_[i].nbytes);
    commit();
  } catch (...) {
    abort();
    throw;
  }
}

}  // namespace qb::gguf

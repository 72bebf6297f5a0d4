// write(2) until every byte is written: the journal's lines and the report's files.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace qb {

// Writes all of [data, data+size) to fd; returns 0 or the errno of the first failure, with the
// bytes written so far in *written.
inline int write_all(int fd, const char* data, size_t size, size_t* written) {
  *written = 0;
  while (*written < size) {
    const ssize_t n = ::write(fd, data + *written, size - *written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    *written += size_t(n);
  }
  return 0;
}

}  // namespace qb

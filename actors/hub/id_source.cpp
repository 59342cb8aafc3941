#include "hub/id_source.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace switchboard {

conn_id id_source::next() {
  for (;;) {
    if (used_ == pool_.size())
      refill();
    auto id = pool_[used_++] & (limit - 1);
    if (tag_ != 0)
      id = (id & ((conn_id{1} << 37) - 1)) | (conn_id{tag_} << 37);
    if (id != 0)
      return id;
  }
}

void id_source::refill() {
  auto buf = reinterpret_cast<unsigned char*>(pool_.data());
  std::size_t want = sizeof(pool_);
  std::size_t got = 0;
  while (got < want) {
    auto n = getrandom(buf + got, want - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      // No getrandom (very old kernel): the C++ library's device, which on
      // glibc reads the same kernel source.
      std::random_device dev;
      for (auto& x : pool_)
        x = (std::uint64_t{dev()} << 32) ^ dev();
      break;
    }
  }
  used_ = 0;
}

} // namespace switchboard

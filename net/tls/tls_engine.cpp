#include "tls/tls_engine.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace switchboard::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

/// Staged ciphertext (handshake and HTTP side only): one TLS record and its
/// header fit.
constexpr std::size_t staged_size = 16 * 1024 + 512;

/// An output buffer this large is given back once it is sent; a smaller one
/// is kept for the next write (a busy connection's batches would otherwise
/// cost an allocation each). read_from() gives back the handshake's.
constexpr std::size_t kept_output = 4 * 1024;

/// Ciphertext that reads may add to the output (TLS 1.3 key update answers,
/// alerts) while the peer takes none of it. A peer that asks for answers and
/// never reads them would otherwise grow it for as long as it sends.
constexpr std::size_t max_read_output = 64 * 1024;

} // namespace

tls_engine::tls_engine(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr)
    return;
  auto* bio = BIO_new(bio_method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  // One BIO for both directions: SSL_set_bio takes its one reference.
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_accept_state(ssl_);
  // Whole socket reads into OpenSSL's record buffer, not a header and a body.
  SSL_set_read_ahead(ssl_, 1);
}

tls_engine::~tls_engine() {
  if (ssl_ != nullptr)
    SSL_free(ssl_);
}

// -- the BIO ---------------------------------------------------------------------

BIO_METHOD* tls_engine::bio_method() {
  // Made once and never freed: every connection's BIO refers to it.
  static BIO_METHOD* method = [] {
    auto* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "switchboard");
    if (m != nullptr) {
      BIO_meth_set_write(m, &tls_engine::bio_write);
      BIO_meth_set_read(m, &tls_engine::bio_read);
      BIO_meth_set_ctrl(m, &tls_engine::bio_ctrl);
    }
    return m;
  }();
  return method;
}

int tls_engine::bio_write(BIO* bio, const char* data, int size) {
  auto* self = static_cast<tls_engine*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (size <= 0)
    return 0;
  // No exception may cross OpenSSL's C frames: out of memory is a failed
  // write (the operation fails, the connection ends).
  try {
    self->out_.insert(self->out_.end(), data, data + size);
  } catch (const std::bad_alloc&) {
    return -1;
  }
  return size;
}

int tls_engine::bio_read(BIO* bio, char* data, int size) {
  return static_cast<tls_engine*>(BIO_get_data(bio))->pull(bio, data, size);
}

long tls_engine::bio_ctrl(BIO*, int cmd, long, void*) {
  // OpenSSL flushes after each flight; everything is in out_ already.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int tls_engine::pull(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  if (size <= 0)
    return 0;
  auto wanted = static_cast<std::size_t>(size);
  if (in_head_ < in_tail_) {
    auto n = std::min(wanted, in_tail_ - in_head_);
    std::memcpy(data, in_.data() + in_head_, n);
    in_head_ += n;
    if (in_head_ == in_tail_) {
      in_head_ = in_tail_ = 0;
      // Reading from the socket now: the staged buffer is not needed again.
      if (fd_ >= 0)
        std::vector<char>{}.swap(in_);
    }
    return static_cast<int>(n);
  }
  if (fd_ < 0 || drained_) {
    BIO_set_retry_read(bio);
    return -1;
  }
  for (;;) {
    auto n = ::recv(fd_, data, wanted, 0);
    if (n > 0) {
      // A short read took everything the socket had: the next read waits
      // for readiness (edge-triggered, as the plain path).
      if (static_cast<std::size_t>(n) < wanted)
        drained_ = true;
      return static_cast<int>(n);
    }
    if (n == 0)
      return 0; // the peer's FIN: OpenSSL tells a close_notify from a truncation
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      drained_ = true;
      BIO_set_retry_read(bio);
      return -1;
    }
    sys_error_ = errno;
    return -1;
  }
}

char* tls_engine::input_space(std::size_t& size) {
  if (in_head_ == in_tail_)
    in_head_ = in_tail_ = 0;
  if (in_.size() < staged_size)
    in_.resize(staged_size);
  if (in_tail_ == in_.size() && in_head_ > 0) {
    std::memmove(in_.data(), in_.data() + in_head_, in_tail_ - in_head_);
    in_tail_ -= in_head_;
    in_head_ = 0;
  }
  size = in_.size() - in_tail_;
  return in_.data() + in_tail_;
}

void tls_engine::read_from(int fd) noexcept {
  fd_ = fd;
  drained_ = false;
  // The staged buffer is given back once used up (pull), or now.
  if (in_head_ == in_tail_) {
    in_head_ = in_tail_ = 0;
    std::vector<char>{}.swap(in_);
  }
  // So is the output buffer the handshake and the HTTP answers grew, if sent
  // (consume_output keeps a small one for the next write).
  if (out_head_ == out_.size()) {
    out_head_ = 0;
    std::vector<unsigned char>{}.swap(out_);
  }
}

bool tls_engine::has_input() const noexcept {
  // Bytes OpenSSL holds count unless the last read wanted more than them (a
  // record's start): then only the socket can help.
  return in_head_ < in_tail_ || (fd_ >= 0 && !drained_)
         || (!starved_ && SSL_has_pending(ssl_) == 1);
}

void tls_engine::consume_output(std::size_t n) noexcept {
  out_head_ += n;
  if (out_head_ < out_.size())
    return;
  out_head_ = 0;
  read_output_ = 0;
  if (out_.capacity() > kept_output)
    std::vector<unsigned char>{}.swap(out_);
  else
    out_.clear();
}

// -- operations --------------------------------------------------------------------

void tls_engine::before_call() noexcept {
  // OpenSSL's error queue is per thread and SSL_get_error reads it: an old
  // entry must not be taken for this call's.
  ERR_clear_error();
  sys_error_ = 0;
}

tls_engine::status tls_engine::outcome(int rc, error_code& ec) {
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
      return status::want_read;
    case SSL_ERROR_ZERO_RETURN: // the peer's close_notify
      ec = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      // A socket error, or the peer's FIN without a close_notify (this BIO
      // does not answer BIO_CTRL_EOF, so OpenSSL 3 reports it here).
      ec = sys_error_ != 0 ? error_code{sys_error_, boost::system::system_category()}
                           : error_code{asio::ssl::error::stream_truncated};
      break;
    case SSL_ERROR_SSL:
      ec = error_code{static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()};
      break;
    default: // WANT_WRITE and the others cannot happen with this BIO
      ec = asio::error::fault;
      break;
  }
  ERR_clear_error();
  return status::failed;
}

tls_engine::status tls_engine::handshake(error_code& ec) {
  before_call();
  auto rc = SSL_do_handshake(ssl_);
  return rc == 1 ? status::done : outcome(rc, ec);
}

tls_engine::status tls_engine::read(void* data, std::size_t size, std::size_t& got,
                                    error_code& ec) {
  got = 0;
  if (size == 0)
    return status::done;
  before_call();
  auto before = output_size();
  auto rc = SSL_read_ex(ssl_, data, size, &got);
  auto s = rc == 1 ? status::done : outcome(rc, ec);
  starved_ = s == status::want_read;
  read_output_ += output_size() - before;
  if (s != status::failed && read_output_ > max_read_output) {
    got = 0;
    ec = asio::error::no_buffer_space;
    return status::failed;
  }
  return s;
}

bool tls_engine::write(const void* data, std::size_t size, error_code& ec) {
  if (size == 0)
    return true;
  before_call();
  std::size_t written = 0;
  auto rc = SSL_write_ex(ssl_, data, size, &written);
  if (rc == 1 && written == size)
    return true;
  if (rc == 1) {
    ec = asio::error::fault; // no partial writes were asked for
    return false;
  }
  outcome(rc, ec);
  if (!ec)
    ec = asio::error::fault;
  return false;
}

void tls_engine::shutdown() {
  before_call();
  // Sends our close_notify; the peer's is read (or not) by the read side.
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

} // namespace switchboard::net

// One client connection: handshake check, incremental frame parser, control frames.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <openssl/ssl.h>

#include "util.hpp"
#include "ws.hpp"

namespace bench {

namespace {

constexpr uint64_t kMaxMessage = 16u << 20;  // refuse frames above 16 MiB

bool ieq_prefix(const char* a, const char* lower_b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_b[i]) return false;
  }
  return true;
}

}  // namespace

void Conn::finish(End why) {
  if (state_ == State::Closed) return;
  loop_.close_fd(*this);
  state_ = State::Closed;
  if (deadline_) loop_.set_deadline(*this, 0);
  if (h_) h_->on_end(*this, why);
}

void Conn::on_event(uint32_t ev) {
  switch (state_) {
    case State::Connecting:
      if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) do_connect_done();
      return;
    case State::Silent:
      finish(End::ServerEof);  // the server gave up on us (FIN/RST)
      return;
    case State::Closed:
      return;
    default:
      break;
  }
  if (tls_handshaking_) {
    do_tls_handshake();
    return;
  }
  if (ev & EPOLLOUT) loop_.write_now(*this);
  if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) do_read();
}

void Conn::do_connect_done() {
  int err = 0;
  socklen_t sl = sizeof err;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &sl);
  if (err != 0) {
    errno = err;  // for the caller's diagnostics
    finish(End::ConnectFailed);
    return;
  }
  state_ = State::Handshake;
  want_out_ = false;
  loop_.set_events(*this, EPOLLIN);
  if (ssl_) {
    tls_handshaking_ = true;
    do_tls_handshake();
    return;
  }
  loop_.write_now(*this);  // the upgrade request
}

void Conn::do_tls_handshake() {
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    tls_handshaking_ = false;
    loop_.set_events(*this, EPOLLIN);
    loop_.write_now(*this);  // the upgrade request
    return;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ)
    loop_.set_events(*this, EPOLLIN);
  else if (e == SSL_ERROR_WANT_WRITE)
    loop_.set_events(*this, EPOLLIN | EPOLLOUT);
  else
    finish(End::HandshakeFailed);
}

void Conn::do_read_tls() {
  // OpenSSL may hold decrypted bytes epoll cannot see: read until it wants the socket.
  while (state_ != State::Closed && ssl_) {
    int r = SSL_read(ssl_, loop_.rbuf_.data(), static_cast<int>(loop_.rbuf_.size()));
    if (r > 0) {
      on_bytes(loop_.rbuf_.data(), static_cast<size_t>(r));
      continue;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    finish(state_ == State::Closing ? End::CleanByUs : state_ == State::Handshake ? End::HandshakeFailed : End::ServerEof);
    return;
  }
}

void Conn::do_read() {
  if (ssl_) {
    do_read_tls();
    return;
  }
  ssize_t r = ::recv(fd_, loop_.rbuf_.data(), loop_.rbuf_.size(), 0);
  if (r < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    finish(state_ == State::Closing ? End::CleanByUs : state_ == State::Handshake ? End::HandshakeFailed : End::ServerEof);
    return;
  }
  if (r == 0) {
    finish(state_ == State::Closing ? End::CleanByUs : state_ == State::Handshake ? End::HandshakeFailed : End::ServerEof);
    return;
  }
  on_bytes(loop_.rbuf_.data(), static_cast<size_t>(r));
}

void Conn::on_bytes(char* buf, size_t n) {
  uint64_t rx = now_ns();
  loop_.bytes_in += static_cast<uint64_t>(n);
  if (state_ == State::Handshake) {
    in_.append(buf, n);
    handle_handshake(in_.data(), in_.size(), rx);
    return;
  }
  if (in_.empty()) {
    size_t used = parse_frames(buf, n, rx);
    if (state_ != State::Closed && used < n) in_.assign(buf + used, n - used);
  } else {
    in_.append(buf, n);
    size_t used = parse_frames(&in_[0], in_.size(), rx);
    if (state_ != State::Closed) in_.erase(0, used);
  }
}

bool Conn::handle_handshake(const char* p, size_t n, uint64_t rx) {
  const char* end = static_cast<const char*>(memmem(p, n, "\r\n\r\n", 4));
  if (!end) {
    if (n > 16384) finish(End::HandshakeFailed);
    return false;
  }
  size_t hlen = static_cast<size_t>(end - p);
  bool ok = hlen >= 12 && std::memcmp(p, "HTTP/1.1 101", 12) == 0;
  bool acc_ok = false;
  static const char kHdr[] = "\r\nsec-websocket-accept:";
  const size_t kl = sizeof kHdr - 1;
  for (size_t i = 0; ok && i + kl <= hlen; ++i) {
    if (p[i] == '\r' && ieq_prefix(p + i, kHdr, kl)) {
      size_t v = i + kl;
      while (v < hlen && (p[v] == ' ' || p[v] == '\t')) ++v;
      acc_ok = v + 28 <= hlen && std::memcmp(p + v, accept_, 28) == 0;
      break;
    }
  }
  if (!ok || !acc_ok) {
    finish(End::HandshakeFailed);
    return false;
  }
  std::string rest(end + 4, n - hlen - 4);
  in_.clear();
  state_ = State::Open;
  opened_ns = rx;
  loop_.set_deadline(*this, 0);
  h_->on_open(*this);
  if (!rest.empty() && state_ == State::Open) {
    in_ = std::move(rest);
    size_t used = parse_frames(&in_[0], in_.size(), rx);
    if (state_ != State::Closed) in_.erase(0, used);
  }
  return true;
}

size_t Conn::parse_frames(char* p, size_t n, uint64_t rx) {
  size_t off = 0;
  while (state_ == State::Open || state_ == State::Closing) {
    size_t avail = n - off;
    if (avail < 2) break;
    auto* u = reinterpret_cast<unsigned char*>(p + off);
    uint8_t b0 = u[0], b1 = u[1];
    uint64_t len = b1 & 0x7f;
    size_t hdr = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t{u[2]} << 8) | u[3];
      hdr = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | u[2 + i];
      hdr = 10;
    }
    bool masked = (b1 & 0x80) != 0;
    if (masked) hdr += 4;
    if (len > kMaxMessage) {
      finish(End::ProtocolError);
      return off;
    }
    if (avail < hdr + len) break;
    char* pl = p + off + hdr;
    size_t plen = static_cast<size_t>(len);
    if (masked) {
      const unsigned char* mk = u + hdr - 4;
      for (size_t i = 0; i < plen; ++i) pl[i] = static_cast<char>(pl[i] ^ static_cast<char>(mk[i & 3]));
    }
    off += hdr + plen;
    ++loop_.frames_in;
    bool fin = (b0 & 0x80) != 0;
    uint8_t op = b0 & 0x0f;
    switch (op) {
      case 0x1:
      case 0x2:
        if (!fin) {
          frag_op_ = op;
          frag_.assign(pl, plen);
        } else if (op == 0x1) {
          h_->on_text(*this, pl, plen, rx);
        }
        break;
      case 0x0:
        if (frag_op_ == 0) {
          finish(End::ProtocolError);
          return off;
        }
        frag_.append(pl, plen);
        if (frag_.size() > kMaxMessage) {
          finish(End::ProtocolError);
          return off;
        }
        if (fin) {
          uint8_t fop = frag_op_;
          frag_op_ = 0;
          std::string msg;
          msg.swap(frag_);
          if (fop == 0x1) h_->on_text(*this, msg.data(), msg.size(), rx);
        }
        break;
      case 0x8:
        close_received_ = true;
        if (!close_sent_) {
          // Echo the status code, then end: the server dropped us.
          close_sent_ = true;
          loop_.queue_frame(*this, 0x8, pl, plen >= 2 ? 2 : 0);
          loop_.write_now(*this);
          finish(End::ServerClose);
        } else {
          finish(End::CleanByUs);
        }
        return off;
      case 0x9:
        ++loop_.pings;
        if (state_ == State::Open) loop_.queue_frame(*this, 0xA, pl, plen);
        break;
      case 0xA:
        break;
      default:
        finish(End::ProtocolError);
        return off;
    }
  }
  return off;
}
}  // namespace bench

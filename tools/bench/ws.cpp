// The epoll loop: connection setup, write queues, timers, deadlines.
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <openssl/ssl.h>

#include "util.hpp"
#include "ws.hpp"

namespace bench {

Loop::Loop() : rbuf_(256 * 1024) {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) throw std::runtime_error("epoll_create1 failed");
  rng_ = now_ns() ^ (static_cast<uint64_t>(getpid()) << 32) ^ 0x9E3779B97F4A7C15ull;
}

Loop::~Loop() {
  for (Conn* c : all_) {
    if (c->ssl_) SSL_free(c->ssl_);
    if (c->fd_ >= 0) ::close(c->fd_);
    delete c;
  }
  for (Timer* t : timers_) {
    ::close(t->fd_);
    delete t;
  }
  ::close(ep_);
}

uint32_t Loop::rnd() {
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<uint32_t>((rng_ * 0x2545F4914F6CDD1Dull) >> 32);
}

Conn* Loop::connect(const Endpoint& ep, const in_addr* src, Handler* h, uint64_t user) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (src) {
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr = *src;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      return nullptr;
    }
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ep.addr), sizeof ep.addr) != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    errno = e;
    return nullptr;
  }
  auto* c = new Conn(*this, h);
  c->fd_ = fd;
  if (ep.tls_ctx) {
    c->ssl_ = SSL_new(ep.tls_ctx);
    SSL_set_fd(c->ssl_, fd);
    SSL_set_connect_state(c->ssl_);
  }
  c->user = user;
  unsigned char key[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = rnd();
    std::memcpy(key + i, &r, 4);
  }
  std::string k = ws_base64(key, 16);
  std::string acc = ws_accept(k);
  std::memcpy(c->accept_, acc.data(), 28);
  c->out_ = "GET " + ep.path + " HTTP/1.1\r\nHost: " + ep.hostport +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + k +
            "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n";
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.ptr = static_cast<Watch*>(c);
  epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  all_.insert(c);
  ++live_;
  set_deadline(*c, now_ns() + connect_timeout_ns);
  return c;
}

void Loop::set_events(Conn& c, uint32_t ev) {
  epoll_event e{};
  e.events = ev;
  e.data.ptr = static_cast<Watch*>(&c);
  epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd_, &e);
}

void Loop::set_deadline(Conn& c, uint64_t deadline) {
  c.deadline_ = deadline;
  if (deadline) {
    timed_.insert(&c);
  } else {
    timed_.erase(&c);
  }
}

void Loop::queue_frame(Conn& c, uint8_t op, const char* data, size_t len) {
  unsigned char hdr[14];
  size_t h = 0;
  hdr[h++] = static_cast<unsigned char>(0x80 | op);
  if (len < 126) {
    hdr[h++] = static_cast<unsigned char>(0x80 | len);
  } else if (len < 65536) {
    hdr[h++] = 0x80 | 126;
    hdr[h++] = static_cast<unsigned char>(len >> 8);
    hdr[h++] = static_cast<unsigned char>(len & 0xff);
  } else {
    hdr[h++] = 0x80 | 127;
    for (int i = 7; i >= 0; --i) hdr[h++] = static_cast<unsigned char>((static_cast<uint64_t>(len) >> (i * 8)) & 0xff);
  }
  uint32_t m = rnd();
  unsigned char mask[4];
  std::memcpy(mask, &m, 4);
  std::memcpy(hdr + h, mask, 4);
  h += 4;
  size_t base = c.out_.size();
  c.out_.resize(base + h + len);
  char* o = &c.out_[base];
  std::memcpy(o, hdr, h);
  o += h;
  for (size_t i = 0; i < len; ++i) o[i] = static_cast<char>(data[i] ^ static_cast<char>(mask[i & 3]));
  ++frames_out;
  mark_dirty(c);
}

void Loop::send_text(Conn& c, const char* data, size_t len) {
  if (c.state_ != State::Open) return;
  queue_frame(c, 0x1, data, len);
}

void Loop::mark_dirty(Conn& c) {
  if (!c.dirty_) {
    c.dirty_ = true;
    dirty_.push_back(&c);
  }
}

void Loop::flush() {
  // write_now never ends a connection, so the list is stable while we walk it.
  for (Conn* c : dirty_) {
    c->dirty_ = false;
    if (c->fd_ >= 0 && c->state_ != State::Connecting) write_now(*c);
  }
  dirty_.clear();
}

void Loop::write_now(Conn& c) {
  size_t off = 0;
  if (c.tls_handshaking_) return;  // the upgrade request waits for the TLS handshake
  while (c.ssl_ && off < c.out_.size()) {
    size_t left = std::min<size_t>(c.out_.size() - off, 1 << 30);
    int w = SSL_write(c.ssl_, c.out_.data() + off, static_cast<int>(left));
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    int e = SSL_get_error(c.ssl_, w);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
    c.out_.clear();  // the read side reports the end
    return;
  }
  while (!c.ssl_ && off < c.out_.size()) {
    ssize_t w = ::send(c.fd_, c.out_.data() + off, c.out_.size() - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    // EPIPE/ECONNRESET: the read side reports the end through epoll.
    c.out_.clear();
    return;
  }
  c.out_.erase(0, off);
  bool need = !c.out_.empty();
  if (need != c.want_out_ && (c.state_ == State::Open || c.state_ == State::Closing || c.state_ == State::Handshake)) {
    c.want_out_ = need;
    set_events(c, EPOLLIN | (need ? EPOLLOUT : 0u));
  }
}

void Loop::close_fd(Conn& c) {
  if (c.fd_ < 0) return;
  epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd_, nullptr);
  if (c.ssl_) {
    SSL_free(c.ssl_);
    c.ssl_ = nullptr;
  }
  ::close(c.fd_);
  c.fd_ = -1;
  --live_;
}

void Loop::close_clean(Conn& c, uint16_t code) {
  if (c.state_ == State::Open) {
    char p[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    queue_frame(c, 0x8, p, 2);
    c.close_sent_ = true;
    c.state_ = State::Closing;
    set_deadline(c, now_ns() + close_timeout_ns);
  } else if (c.state_ != State::Closing && c.state_ != State::Closed) {
    c.finish(End::Aborted);
  }
}

void Loop::close_reset(Conn& c) {
  if (c.state_ == State::Closed) return;
  linger lg{1, 0};
  setsockopt(c.fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  c.finish(End::Reset);
}

void Loop::abort(Conn& c) {
  if (c.state_ != State::Closed) c.finish(End::Aborted);
}

void Loop::go_silent(Conn& c, uint64_t max_ns) {
  if (c.state_ != State::Open) return;
  c.state_ = State::Silent;
  c.out_.clear();
  c.want_out_ = false;
  set_events(c, EPOLLRDHUP);
  set_deadline(c, now_ns() + max_ns);
}

void Loop::release(Conn* c) {
  if (c->state_ != State::Closed) c->finish(End::Aborted);
  dead_.push_back(c);
}

Timer* Loop::add_timer(uint64_t interval_ns, std::function<void()> cb) {
  auto* t = new Timer();
  t->fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  t->cb_ = std::move(cb);
  itimerspec its{};
  if (interval_ns < 100000) interval_ns = 100000;
  its.it_interval.tv_sec = static_cast<time_t>(interval_ns / 1000000000ull);
  its.it_interval.tv_nsec = static_cast<long>(interval_ns % 1000000000ull);
  its.it_value = its.it_interval;
  timerfd_settime(t->fd_, 0, &its, nullptr);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = static_cast<Watch*>(t);
  epoll_ctl(ep_, EPOLL_CTL_ADD, t->fd_, &ev);
  timers_.push_back(t);
  return t;
}

void Loop::remove_timer(Timer* t) {
  // Called outside poll() by the modes; safe to free now.
  auto it = std::find(timers_.begin(), timers_.end(), t);
  if (it == timers_.end()) return;
  timers_.erase(it);
  epoll_ctl(ep_, EPOLL_CTL_DEL, t->fd_, nullptr);
  ::close(t->fd_);
  delete t;
}

void Timer::on_event(uint32_t) {
  uint64_t n = 0;
  if (::read(fd_, &n, sizeof n) == static_cast<ssize_t>(sizeof n) && cb_) cb_();
}

void Loop::sweep(uint64_t now) {
  std::vector<Conn*> due;
  for (Conn* c : timed_)
    if (c->deadline_ && c->deadline_ <= now) due.push_back(c);
  for (Conn* c : due) {
    c->deadline_ = 0;
    timed_.erase(c);
    switch (c->state_) {
      case State::Connecting: c->finish(End::ConnectFailed); break;
      case State::Handshake: c->finish(End::HandshakeFailed); break;
      case State::Closing: c->finish(End::CleanByUs); break;  // server never answered; close_frame_seen()==false
      case State::Silent: c->finish(End::Aborted); break;
      default: break;
    }
  }
}

void Loop::poll(int timeout_ms) {
  flush();
  if (coalesce_ns && last_busy_) {
    uint64_t until = last_busy_ + coalesce_ns, t = now_ns();
    if (t < until) {
      timespec ts{0, static_cast<long>(until - t)};
      nanosleep(&ts, nullptr);
    }
  }
  epoll_event evs[512];
  int n = epoll_wait(ep_, evs, 512, timeout_ms);
  last_busy_ = n > 0 ? now_ns() : 0;
  for (int i = 0; i < n; ++i) static_cast<Watch*>(evs[i].data.ptr)->on_event(evs[i].events);
  uint64_t now = now_ns();
  if (now - last_sweep_ >= 50'000'000ull) {
    last_sweep_ = now;
    sweep(now);
  }
  if (!dead_.empty()) {
    for (Conn* c : dead_) c->state_ = State::Closed, c->h_ = nullptr;
    dirty_.erase(std::remove_if(dirty_.begin(), dirty_.end(), [](Conn* c) { return c->h_ == nullptr; }), dirty_.end());
    for (Conn* c : dead_) {
      timed_.erase(c);
      if (all_.erase(c)) delete c;
    }
    dead_.clear();
  }
}

}  // namespace bench

// Minimal client-side WebSocket (RFC 6455) over non-blocking sockets driven by one epoll loop.
//
// Only what a load generator needs: HTTP/1.1 upgrade with Sec-WebSocket-Key and a checked
// Sec-WebSocket-Accept, masked client frames, an incremental frame parser (7/16/64-bit
// lengths, fragmentation, ping -> pong, close), clean close / RST / "silent" shutdown.
// Reads go into one shared buffer; only a trailing partial frame is copied into the
// connection, so a delivery costs a header decode plus a callback, no allocation.
// Writes are queued per connection and flushed once per loop iteration (cork-like).
#pragma once

#include <netinet/in.h>

struct ssl_st;
struct ssl_ctx_st;

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

namespace bench {

struct Endpoint {
  std::string host;  // as given (127.x.x.x or localhost)
  std::string hostport;
  std::string path;
  sockaddr_in addr{};
  bool tls = false;            // wss://
  ssl_ctx_st* tls_ctx = nullptr;  // set by make_tls_client (wss:// only)
};
// ws:// or wss://127.x.x.x:PORT/path only (the bench never targets anything but loopback).
bool parse_ws_url(const std::string& url, Endpoint& ep, std::string& err);
// The TLS client context for a wss:// endpoint: verifies the server against `ca_file`
// (and the host in the URL), or nothing with `insecure`. False with `err` set.
bool make_tls_client(Endpoint& ep, const std::string& ca_file, bool insecure, std::string& err);
std::string ws_base64(const unsigned char* p, size_t n);
// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)).
std::string ws_accept(const std::string& key);

enum class State : uint8_t { Connecting, Handshake, Open, Closing, Silent, Closed };

// Why a connection ended, as seen by the mode.
enum class End : uint8_t {
  CleanByUs,     // we sent close; server answered (close frame or FIN) or our bound ran out
  Reset,         // we reset it (SO_LINGER 0)
  Aborted,       // we just closed the fd (e.g. end of a silent period, shutdown)
  ServerClose,   // server sent a close frame first (dropped by the server)
  ServerEof,     // server closed TCP / reset while we did not ask (dropped by the server)
  ConnectFailed, // TCP connect failed or timed out
  HandshakeFailed,
  ProtocolError,
};
const char* end_name(End e);
inline bool end_is_server_drop(End e) { return e == End::ServerClose || e == End::ServerEof; }

class Loop;
class Conn;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void on_open(Conn& c) = 0;
  // One complete text message. rx_ns: CLOCK_MONOTONIC when the bytes were read.
  virtual void on_text(Conn& c, const char* data, size_t len, uint64_t rx_ns) = 0;
  virtual void on_end(Conn& c, End why) = 0;
};

// epoll-registered object; connections and timers.
struct Watch {
  virtual ~Watch() = default;
  virtual void on_event(uint32_t events) = 0;
};

class Conn final : public Watch {
 public:
  State state() const { return state_; }
  int fd() const { return fd_; }
  uint64_t user = 0;        // owner's index / tag
  uint64_t opened_ns = 0;   // when the upgrade completed
  bool close_frame_seen() const { return close_received_; }

  void on_event(uint32_t events) override;

 private:
  friend class Loop;
  Conn(Loop& l, Handler* h) : loop_(l), h_(h) {}
  void do_connect_done();
  void do_tls_handshake();
  void do_read();
  void do_read_tls();
  void on_bytes(char* buf, size_t n);
  bool handle_handshake(const char* p, size_t n, uint64_t rx);
  size_t parse_frames(char* p, size_t n, uint64_t rx);  // returns consumed bytes
  void finish(End why);

  Loop& loop_;
  Handler* h_;
  int fd_ = -1;
  State state_ = State::Connecting;
  bool close_sent_ = false, close_received_ = false, dirty_ = false, want_out_ = false;
  bool tls_handshaking_ = false;
  ssl_st* ssl_ = nullptr;   // wss:// only
  uint8_t frag_op_ = 0;
  uint64_t deadline_ = 0;   // for Connecting/Handshake/Closing/Silent
  std::string in_;          // handshake bytes or a partial frame
  std::string out_;         // bytes not yet written
  std::string frag_;        // fragmented message being assembled
  char accept_[29] = {};    // expected Sec-WebSocket-Accept
};

class Timer final : public Watch {
 public:
  void on_event(uint32_t events) override;

 private:
  friend class Loop;
  int fd_ = -1;
  std::function<void()> cb_;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uint64_t connect_timeout_ns = 10'000'000'000ull;
  uint64_t close_timeout_ns = 5'000'000'000ull;
  // Optional read coalescing: after an iteration that handled events, wait until this much
  // time passed since it started before polling again, so each recv() finds several frames
  // (fewer syscalls per delivery; adds up to this much to measured latency). 0 = off.
  uint64_t coalesce_ns = 0;
  // Header lines ("Name: value\r\n") added to every upgrade request.
  std::string extra_headers;

  // Start a connection; nullptr (errno set) if the socket could not even be started.
  // src: optional source address to bind() first (port chosen at connect time).
  Conn* connect(const Endpoint& ep, const in_addr* src, Handler* h, uint64_t user);

  void send_text(Conn& c, const char* data, size_t len);
  void send_text(Conn& c, const std::string& s) { send_text(c, s.data(), s.size()); }
  // Our side of a clean close: close frame now, end on the server's close/FIN or after
  // close_timeout_ns.
  void close_clean(Conn& c, uint16_t code = 1000);
  void close_reset(Conn& c);    // SO_LINGER {1,0} + close(): RST
  void abort(Conn& c);          // close() the fd, no handshake
  // Stop reading and never answer pings; ends (ServerEof) when the server closes, or
  // (Aborted) when `max_ns` passes.
  void go_silent(Conn& c, uint64_t max_ns);
  // Free a connection object after its end (deferred to the end of the loop iteration).
  void release(Conn* c);

  // Periodic timer (interval_ns), cb runs inside poll().
  Timer* add_timer(uint64_t interval_ns, std::function<void()> cb);
  void remove_timer(Timer* t);

  // Flush queued writes, wait up to timeout_ms for events, dispatch them, run deadlines.
  void poll(int timeout_ms);
  void flush();

  size_t live() const { return live_; }  // connections with an open fd
  uint64_t frames_in = 0, bytes_in = 0, frames_out = 0, pings = 0;

 private:
  friend class Conn;
  void mark_dirty(Conn& c);
  void write_now(Conn& c);
  void set_events(Conn& c, uint32_t ev);
  void set_deadline(Conn& c, uint64_t deadline);
  void sweep(uint64_t now);
  void queue_frame(Conn& c, uint8_t op, const char* data, size_t len);
  void close_fd(Conn& c);
  uint32_t rnd();

  int ep_ = -1;
  size_t live_ = 0;
  uint64_t rng_ = 0;
  uint64_t last_sweep_ = 0;
  uint64_t last_busy_ = 0;  // start of the last iteration that handled events (coalescing)
  std::vector<Conn*> dirty_;
  std::vector<Conn*> dead_;
  std::unordered_set<Conn*> all_;
  std::unordered_set<Conn*> timed_;
  std::vector<Timer*> timers_;
  std::vector<char> rbuf_;
};

}  // namespace bench

#include "redis/redis_connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace switchboard::net {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Reconnects wait 100 ms, then twice as long each time up to 5 s, each
// delay drawn from its upper half so that nodes do not reconnect in step.
constexpr std::chrono::milliseconds first_backoff = 100ms;
constexpr std::chrono::milliseconds max_backoff = 5s;

std::string hex_sha1(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

void flatten(const redisReply* r, std::vector<std::string>& out) {
  switch (r->type) {
    case REDIS_REPLY_ARRAY:
      for (std::size_t i = 0; i < r->elements; ++i)
        flatten(r->element[i], out);
      break;
    case REDIS_REPLY_INTEGER:
      out.push_back(std::to_string(r->integer));
      break;
    case REDIS_REPLY_NIL:
      out.emplace_back();
      break;
    default: // string, status
      out.emplace_back(r->str, r->len);
  }
}

redis_reply unavailable(std::string what) {
  return {redis_reply::unavailable, std::move(what), {}};
}

} // namespace

redis_script::redis_script(std::string source)
  : body(std::move(source)), sha1(hex_sha1(body)) {
}

/// A command hiredis holds, with what it costs to answer.
struct redis_connection::pending {
  command cmd;
  clock::time_point sent;
};

redis_connection::redis_connection(asio::io_context& ioc, settings s,
                                   std::shared_ptr<redis_metrics> metrics)
  : strand_(ioc.get_executor()),
    settings_(std::move(s)),
    metrics_holder_(std::move(metrics)),
    metrics_(*metrics_holder_),
    watchdog_(strand_),
    backoff_timer_(strand_),
    jitter_(std::random_device{}()) {
}

redis_connection::~redis_connection() {
  // Only when the loop never ran stop()'s handler: answer what is pending
  // without touching this object.
  if (ac_ == nullptr)
    return;
  ac_->data = nullptr;
  ac_->ev = {};
  if (socket_)
    socket_->release();
  redisAsyncFree(ac_);
}

void redis_connection::start() {
  asio::post(strand_, [self = shared_from_this()] {
    self->connect();
    self->watch();
  });
}

void redis_connection::stop(std::function<void()> stopped) {
  asio::post(strand_, [self = shared_from_this(), stopped = std::move(stopped)] {
    self->stopped_ = true;
    self->watchdog_.cancel();
    self->backoff_timer_.cancel();
    self->drop(nullptr);
    if (stopped)
      stopped();
  });
}

void redis_connection::eval(const redis_script& script, std::vector<std::string> keys,
                            std::vector<std::string> args, redis_callback done) {
  command cmd{{}, &script, std::move(done)};
  cmd.argv.reserve(3 + keys.size() + args.size());
  cmd.argv.insert(cmd.argv.end(), {"EVALSHA", script.sha1, std::to_string(keys.size())});
  std::move(keys.begin(), keys.end(), std::back_inserter(cmd.argv));
  std::move(args.begin(), args.end(), std::back_inserter(cmd.argv));
  asio::post(strand_, [self = shared_from_this(), cmd = std::move(cmd)]() mutable {
    self->send(std::move(cmd));
  });
}

// -- the connection -----------------------------------------------------------------------

void redis_connection::connect() {
  if (stopped_ || ac_ != nullptr)
    return;
  // The host is an address (the node resolves names at start): hiredis's
  // getaddrinfo then never blocks the loop.
  auto* ac = redisAsyncConnect(settings_.host.c_str(), settings_.port);
  if (ac == nullptr || ac->err != 0) {
    if (ac != nullptr) {
      if (settings_.log && backoff_ == std::chrono::milliseconds{0})
        settings_.log->warn("redis {}: cannot connect: {}", metrics_.address, ac->errstr);
      redisAsyncFree(ac);
    }
    metrics_.errors.add(1);
    retry_later();
    return;
  }
  ac_ = ac;
  ++generation_;
  ready_ = false;
  connect_began_ = clock::now();
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  socket_.emplace(strand_, ac->c.fd);
  redisAsyncSetConnectCallback(ac, connect_cb);
  redisAsyncSetDisconnectCallback(ac, disconnect_cb);
  // Pipelined before any other command: AUTH, then the scripts.
  if (!settings_.password.empty())
    send({{"AUTH", settings_.password}, nullptr, [w = weak_from_this()](redis_reply r) {
            auto self = w.lock();
            if (!self || r.status != redis_reply::error)
              return;
            if (self->settings_.log)
              self->settings_.log->error("redis {}: AUTH refused: {}", self->metrics_.address,
                                         r.what);
            // Not from inside hiredis's callback: on the strand, next (if
            // this connection is still the one).
            asio::post(self->strand_, [self, gen = self->generation_] {
              if (gen == self->generation_)
                self->drop(nullptr);
            });
          }});
  for (auto* script : settings_.scripts)
    send({{"SCRIPT", "LOAD", script->body}, nullptr, [](redis_reply) {}});
  // The connect completes on the first writable event.
  add_write(this);
}

void redis_connection::send(command cmd) {
  if (ac_ == nullptr) {
    cmd.done(unavailable("not connected"));
    return;
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto& a : cmd.argv) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto p = std::make_unique<pending>(pending{std::move(cmd), clock::now()});
  if (redisAsyncCommandArgv(ac_, reply_cb, p.get(), static_cast<int>(argv.size()), argv.data(),
                            lens.data())
      != REDIS_OK) {
    p->cmd.done(unavailable("connection closing"));
    return;
  }
  sent_.push_back(p->sent);
  p.release(); // hiredis holds it until reply_cb
}

void redis_connection::on_reply(pending& p, void* reply) {
  if (!sent_.empty())
    sent_.pop_front();
  if (reply == nullptr) {
    p.cmd.done(unavailable("connection lost"));
    return;
  }
  auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - p.sent);
  metrics_.latency.observe(static_cast<std::uint64_t>(rtt.count()));
  auto* r = static_cast<redisReply*>(reply);
  redis_reply out;
  if (r->type == REDIS_REPLY_ERROR) {
    out.status = redis_reply::error;
    out.what.assign(r->str, r->len);
    if (p.cmd.script != nullptr && out.what.rfind("NOSCRIPT", 0) == 0) {
      // Redis forgot the script (SCRIPT FLUSH, a restart): EVAL loads it.
      p.cmd.argv[0] = "EVAL";
      p.cmd.argv[1] = p.cmd.script->body;
      p.cmd.script = nullptr;
      send(std::move(p.cmd));
      return;
    }
    metrics_.errors.add(1);
  } else {
    out.status = redis_reply::ok;
    flatten(r, out.items);
  }
  p.cmd.done(std::move(out));
}

void redis_connection::on_connect(int status) {
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback (cleanup() follows).
    metrics_.errors.add(1);
    if (settings_.log && backoff_ == std::chrono::milliseconds{0})
      settings_.log->warn("redis {}: cannot connect: {}", metrics_.address,
                          ac_ != nullptr ? ac_->errstr : "");
    return;
  }
  ready_ = true;
  backoff_ = {};
  if (connected_once_)
    metrics_.reconnects.add(1);
  connected_once_ = true;
  metrics_.connected.store(true, std::memory_order_relaxed);
  if (settings_.log)
    settings_.log->info("redis {}: connected", metrics_.address);
}

void redis_connection::on_disconnect(int status) {
  // REDIS_OK: we dropped it (and said why).
  if (stopped_ || status == REDIS_OK)
    return;
  metrics_.errors.add(1);
  if (settings_.log)
    settings_.log->warn("redis {}: connection lost; reconnecting", metrics_.address);
}

// Frees the context: hiredis answers every pending command (null reply),
// then calls cleanup() (detach), then the disconnect callback.
void redis_connection::drop(const char* why) {
  if (ac_ == nullptr)
    return;
  if (why != nullptr && settings_.log)
    settings_.log->warn("redis {}: {}; reconnecting", metrics_.address, why);
  redisAsyncFree(ac_);
}

void redis_connection::detach() {
  ac_ = nullptr;
  ready_ = false;
  ++generation_; // the waits still pending belong to the old context
  want_read_ = want_write_ = reading_ = writing_ = false;
  if (socket_) {
    socket_->cancel();
    socket_->release(); // hiredis closes the descriptor
    socket_.reset();
  }
  sent_.clear();
  metrics_.connected.store(false, std::memory_order_relaxed);
  retry_later();
}

void redis_connection::retry_later() {
  if (stopped_)
    return;
  backoff_ = backoff_ == std::chrono::milliseconds{0} ? first_backoff
                                                      : std::min(backoff_ * 2, max_backoff);
  std::uniform_int_distribution<long> half(backoff_.count() / 2, backoff_.count());
  backoff_timer_.expires_after(std::chrono::milliseconds{half(jitter_)});
  backoff_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    if (auto self = w.lock(); self && !ec)
      self->connect();
  });
}

// A reply later than the timeout (or a connect that does not complete)
// drops the connection: Redis is hung or the network is, and every command
// behind it would wait as long.
void redis_connection::watch() {
  if (stopped_)
    return;
  watchdog_.expires_after(std::max<std::chrono::milliseconds>(settings_.timeout / 4, 10ms));
  watchdog_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
    auto self = w.lock();
    if (!self || ec)
      return;
    auto now = clock::now();
    auto late = [&](clock::time_point t) { return now - t > self->settings_.timeout; };
    if (self->ac_ != nullptr
        && ((!self->sent_.empty() && late(self->sent_.front()))
            || (!self->ready_ && late(self->connect_began_)))) {
      self->metrics_.timeouts.add(1);
      self->metrics_.errors.add(1);
      self->drop("no answer within the timeout");
    }
    self->watch();
  });
}

// -- hiredis's event hooks ------------------------------------------------------------------

void redis_connection::wait_read() {
  wait(asio::posix::stream_descriptor::wait_read, want_read_, reading_, redisAsyncHandleRead);
}

void redis_connection::wait_write() {
  wait(asio::posix::stream_descriptor::wait_write, want_write_, writing_,
       redisAsyncHandleWrite);
}

// One readiness wait at a time per direction, while hiredis wants it; a
// wait of a context freed meanwhile (another generation) does nothing.
void redis_connection::wait(asio::posix::stream_descriptor::wait_type type, bool& wanted,
                            bool& waiting, void (*handle)(redisAsyncContext*)) {
  if (!wanted || waiting || !socket_)
    return;
  waiting = true;
  socket_->async_wait(type, [self = shared_from_this(), gen = generation_, type, &wanted,
                             &waiting, handle](boost::system::error_code ec) {
    if (gen != self->generation_)
      return;
    waiting = false;
    if (ec)
      return;
    if (wanted)
      handle(self->ac_);
    if (gen == self->generation_)
      self->wait(type, wanted, waiting, handle);
  });
}

void redis_connection::reply_cb(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<pending> p{static_cast<pending*>(privdata)};
  if (auto* self = static_cast<redis_connection*>(ac->data))
    self->on_reply(*p, reply);
  else
    p->cmd.done(unavailable("connection closed"));
}

void redis_connection::connect_cb(const redisAsyncContext* ac, int status) {
  if (auto* self = static_cast<redis_connection*>(ac->data))
    self->on_connect(status);
}

void redis_connection::disconnect_cb(const redisAsyncContext* ac, int status) {
  if (auto* self = static_cast<redis_connection*>(ac->data))
    self->on_disconnect(status);
}

void redis_connection::add_read(void* self) {
  auto* c = static_cast<redis_connection*>(self);
  c->want_read_ = true;
  c->wait_read();
}

void redis_connection::del_read(void* self) {
  static_cast<redis_connection*>(self)->want_read_ = false;
}

void redis_connection::add_write(void* self) {
  auto* c = static_cast<redis_connection*>(self);
  c->want_write_ = true;
  c->wait_write();
}

void redis_connection::del_write(void* self) {
  static_cast<redis_connection*>(self)->want_write_ = false;
}

void redis_connection::cleanup(void* self) {
  static_cast<redis_connection*>(self)->detach();
}

} // namespace switchboard::net

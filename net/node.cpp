#include "switchboard/node.hpp"

#include "admission.hpp"
#include "listener.hpp"
#include "node_context.hpp"

#include <boost/asio.hpp>

#include <algorithm>
#if defined(__GLIBC__)
#  include <malloc.h>
#endif
#include <optional>
#include <thread>

namespace switchboard {

namespace asio = boost::asio;

struct node::impl {
  impl(caf::actor_system& s, node_config c)
    : sys(s), cfg(std::move(c)), ioc(static_cast<int>(cfg.io_threads)) {
  }
  caf::actor_system& sys;
  node_config cfg;
  // Declared before everything that holds I/O objects, so it dies last.
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  hub_actor hub;
  std::shared_ptr<net::node_context> ctx;
  std::shared_ptr<net::listener> listener;
  std::vector<std::thread> threads;
  std::optional<asio::steady_timer> trim_timer;
  std::uint16_t port = 0;
  bool stopped = false;
};

namespace {

// glibc keeps what connections freed in its arenas, so after a spike of
// connections or hours of churn the process would stay at its high-water
// mark. Hand free pages back every half minute (measured: 20.4 -> 14.5 MB
// after a 30-minute soak with 1000 connections; see docs/benchmarks.md).
void schedule_trim(node::impl& p);

} // namespace

caf::expected<std::shared_ptr<node>> node::start(caf::actor_system& sys, node_config cfg) {
  if (auto problems = cfg.problems(); !problems.empty()) {
    std::string text;
    for (auto& p : problems)
      text += (text.empty() ? "" : "; ") + p;
    return caf::make_error(caf::sec::invalid_argument, std::move(text));
  }
  auto p = std::make_unique<impl>(sys, std::move(cfg));
  auto& c = p->cfg;
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver{p->ioc};
  auto endpoints = resolver.resolve(c.host, std::to_string(c.port),
                                    asio::ip::tcp::resolver::passive, ec);
  if (ec || endpoints.empty())
    return caf::make_error(caf::sec::invalid_argument, "cannot resolve host " + c.host);
  p->hub = sys.spawn(switchboard::hub, c.hub);
  p->ctx = std::make_shared<net::node_context>(sys, p->hub);
  p->ctx->admission = std::make_shared<net::admission>(p->ioc, c.admission);
  p->ctx->settings = c.connection;
  p->ctx->max_message_size = c.max_message_size;
  p->ctx->handshake_timeout =
    std::chrono::duration_cast<std::chrono::steady_clock::duration>(c.handshake_timeout);
  p->listener = std::make_shared<net::listener>(p->ioc, p->ctx);
  if (auto err = p->listener->open(endpoints.begin()->endpoint())) {
    caf::anon_send_exit(p->hub, caf::exit_reason::user_shutdown);
    return caf::make_error(caf::sec::cannot_open_port,
                           "cannot listen on " + c.host + ":" + std::to_string(c.port)
                             + ": " + err.message());
  }
  p->port = p->listener->port();
  p->listener->run();
  p->work.emplace(p->ioc.get_executor());
  p->trim_timer.emplace(p->ioc);
  schedule_trim(*p);
  for (std::size_t i = 0; i < c.io_threads; ++i)
    p->threads.emplace_back([io = &p->ioc] { io->run(); });
  return std::shared_ptr<node>{new node(std::move(p))};
}

namespace {

void schedule_trim(node::impl& p) {
#if defined(__GLIBC__)
  p.trim_timer->expires_after(std::chrono::seconds(30));
  p.trim_timer->async_wait([&p](boost::system::error_code ec) {
    if (ec)
      return;
    malloc_trim(0);
    schedule_trim(p);
  });
#else
  (void) p;
#endif
}

} // namespace

node::node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
}

node::~node() {
  stop();
}

const hub_actor& node::hub() const noexcept {
  return impl_->hub;
}

std::uint16_t node::port() const noexcept {
  return impl_->port;
}

std::string node::url() const {
  return "ws://" + impl_->cfg.host + ":" + std::to_string(impl_->port) + "/ws";
}

void node::stop() {
  auto& p = *impl_;
  if (p.stopped)
    return;
  p.stopped = true;
  using clock = std::chrono::steady_clock;
  // Writers flush for at most shutdown_timeout; the close handshakes that
  // follow get one more second before the sockets are simply closed.
  auto deadline = clock::now() + p.cfg.connection.shutdown_timeout + std::chrono::seconds(1);
  p.listener->stop();
  {
    caf::scoped_actor self{p.sys};
    self->monitor(p.hub);
    caf::anon_send(p.hub, shutdown_atom::value);
    self->receive([](const caf::down_msg&) {},
                  caf::after(p.cfg.connection.shutdown_timeout + std::chrono::seconds(2))
                    >> [] {});
  }
  while (p.ctx->sessions > 0 && clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.work.reset();
  p.ioc.stop();
  for (auto& t : p.threads)
    t.join();
  p.threads.clear();
}

} // namespace switchboard

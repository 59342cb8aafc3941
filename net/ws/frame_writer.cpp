#include "ws/frame_writer.hpp"

#include "tls/tls_stream.hpp"

#include <algorithm>

namespace switchboard::net {

namespace asio = boost::asio;

template <class Stream>
basic_frame_writer<Stream>::basic_frame_writer(Stream& socket, observer& owner,
                                               loop_metrics* metrics)
  : socket_(socket), owner_(owner), metrics_(metrics) {
}

template <class Stream>
void basic_frame_writer<Stream>::push(frame_ptr frame) {
  if (failed_)
    return;
  pending_bytes_ += frame->size();
  items_.push_back({std::move(frame), nullptr});
}

template <class Stream>
void basic_frame_writer<Stream>::push_control(std::string bytes) {
  if (failed_)
    return;
  pending_bytes_ += bytes.size();
  // On the heap, not in the item: a short string keeps its bytes inside
  // itself, and the item moves whenever the queue grows.
  items_.push_back({nullptr, std::make_unique<const std::string>(std::move(bytes))});
}

template <class Stream>
typename basic_frame_writer<Stream>::progress basic_frame_writer<Stream>::discard_data() {
  progress dropped;
  // What the write in flight covers stays (its buffers are in use), and so
  // does the first item if part of it went out already.
  auto keep = head_ + std::max<std::size_t>(in_write_, offset_ > 0 ? 1 : 0);
  auto out = items_.begin() + static_cast<std::ptrdiff_t>(keep);
  for (auto i = out; i != items_.end(); ++i) {
    if (i->shared) {
      ++dropped.frames;
      dropped.bytes += i->shared->size();
      pending_bytes_ -= i->shared->size();
    } else {
      *out++ = std::move(*i);
    }
  }
  items_.erase(out, items_.end());
  return dropped;
}

template <class Stream>
void basic_frame_writer<Stream>::flush(std::shared_ptr<void> keep) {
  if (writing_ || failed_ || empty())
    return;
  gather g;
  auto first = items_[head_].bytes().substr(offset_);
  g.bufs[g.n++] = asio::buffer(first.data(), first.size());
  for (auto i = head_ + 1; i < items_.size() && g.n < max_gather; ++i) {
    auto b = items_[i].bytes();
    g.bufs[g.n++] = asio::buffer(b.data(), b.size());
  }
  in_write_ = g.n;
  writing_ = true;
  socket_.async_write_some(g, [this, keep = std::move(keep)](boost::system::error_code ec,
                                                              std::size_t n) {
    on_write(ec, n);
  });
}

template <class Stream>
void basic_frame_writer<Stream>::on_write(boost::system::error_code ec, std::size_t n) {
  writing_ = false;
  in_write_ = 0;
  if (ec) {
    failed_ = ec;
    owner_.on_written(ec, {});
    return;
  }
  pending_bytes_ -= n;
  if (metrics_)
    metrics_->bytes_out.add(n);
  progress done;
  // The clock is read once per completed write, and only if it completed a
  // stamped frame: never per frame.
  stamped_frame::time_point now{};
  while (n > 0) {
    auto& it = items_[head_];
    auto left = it.bytes().size() - offset_;
    if (n < left) {
      offset_ += n;
      break;
    }
    n -= left;
    offset_ = 0;
    if (it.shared) {
      ++done.frames;
      done.bytes += it.shared->size();
      if (metrics_ && it.shared->framed_at != stamped_frame::time_point{})
        observe_latency(it.shared->framed_at, now);
    }
    it = item{};
    ++head_;
  }
  compact();
  owner_.on_written({}, done);
}

template <class Stream>
void basic_frame_writer<Stream>::observe_latency(stamped_frame::time_point framed_at,
                                   stamped_frame::time_point& now) {
  if (now == stamped_frame::time_point{})
    now = std::chrono::steady_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - framed_at).count();
  metrics_->publish_latency.observe(us > 0 ? static_cast<std::uint64_t>(us) : 0);
}

template <class Stream>
void basic_frame_writer<Stream>::compact() {
  if (head_ == items_.size()) {
    items_.clear();
    head_ = 0;
    // An idle connection keeps no write buffer of a past burst.
    if (items_.capacity() > max_gather)
      std::vector<item>{}.swap(items_);
  } else if (head_ >= max_gather && head_ * 2 >= items_.size()) {
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

template class basic_frame_writer<socket_type>;
template class basic_frame_writer<tls_stream>;

} // namespace switchboard::net

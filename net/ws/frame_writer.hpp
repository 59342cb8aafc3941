#pragma once

// Writes one connection's outbound frames with as few syscalls as it can:
// everything queued when a write starts goes out in one gathered write
// (writev), and frames shared by many receivers are written from where they
// are, never copied. One write in flight at a time keeps the bytes in order.
// Strand only (the connection's).
//
// A write in flight points into the queued bytes until it completes, while
// frames keep being queued (and the queue reallocated) behind it: so every
// queued byte lives on the heap, held by pointer (a data frame's shared
// frame, the connection's own control bytes in a string of their own), and
// the queue only moves the pointers.

#include "commands.hpp"
#include "io/io_types.hpp"
#include "observe/loop_metrics.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace switchboard::net {

/// What the frame writers of every stream type share.
struct frame_writer_types {
  /// Data frames a write (or discard_data) completed.
  struct progress {
    std::size_t frames = 0;
    std::size_t bytes = 0;
  };

  /// Told after every write: the data frames it completed, or the error that
  /// ended writing for good.
  class observer {
  public:
    virtual void on_written(boost::system::error_code ec, progress done) = 0;

  protected:
    ~observer() = default;
  };

  /// Frames per write at most (one writev).
  static constexpr std::size_t max_gather = 64;
};

/// `Stream`: a socket_type, or a tls_stream (tls_stream.hpp), which encrypts
/// the gathered frames in one TLS write.
template <class Stream>
class basic_frame_writer : public frame_writer_types {
public:
  /// `metrics` (the loop's, may be null) counts the bytes written and the
  /// publish-to-write latency of every stamped frame (stamped_frame::framed_at).
  basic_frame_writer(Stream& socket, observer& owner, loop_metrics* metrics = nullptr);

  /// Queues a data frame (counted in progress).
  void push(frame_ptr frame);

  /// Queues bytes of the connection's own (a pong, a close frame); they go
  /// out behind what is queued, never inside a frame.
  void push_control(std::string bytes);

  /// Drops the data frames that have not started going out (a slow consumer
  /// will not read them); returns what it dropped. A frame partly written
  /// stays, so the stream of frames stays well-formed.
  progress discard_data();

  /// Starts a write unless one is in flight or nothing is queued. `keep`
  /// (the connection) lives until the write completes.
  void flush(std::shared_ptr<void> keep);

  /// Bytes queued and not written yet (data and control).
  std::size_t pending_bytes() const noexcept {
    return pending_bytes_;
  }

  bool writing() const noexcept {
    return writing_;
  }

  bool empty() const noexcept {
    return head_ == items_.size();
  }

  bool failed() const noexcept {
    return static_cast<bool>(failed_);
  }

private:
  struct item {
    frame_ptr shared;                       ///< a data frame, or null
    std::unique_ptr<const std::string> own; ///< control bytes when `shared` is null
    std::string_view bytes() const noexcept {
      return shared ? std::string_view{*shared} : std::string_view{*own};
    }
  };

  /// The buffers of one write, held by value in the operation.
  struct gather {
    std::array<boost::asio::const_buffer, max_gather> bufs;
    std::size_t n = 0;
    const boost::asio::const_buffer* begin() const noexcept {
      return bufs.data();
    }
    const boost::asio::const_buffer* end() const noexcept {
      return bufs.data() + n;
    }
  };

  void on_write(boost::system::error_code ec, std::size_t n);
  /// Observes one frame's latency; reads the clock into `now` if it is
  /// still unset (once per write).
  void observe_latency(stamped_frame::time_point framed_at, stamped_frame::time_point& now);
  void compact();

  Stream& socket_;
  observer& owner_;
  loop_metrics* metrics_;
  std::vector<item> items_;
  std::size_t head_ = 0;     ///< first item not completely written
  std::size_t offset_ = 0;   ///< bytes of items_[head_] already written
  std::size_t in_write_ = 0; ///< items (from head_) the write in flight covers
  std::size_t pending_bytes_ = 0;
  bool writing_ = false;
  boost::system::error_code failed_;
};

/// The plain connection's.
using frame_writer = basic_frame_writer<socket_type>;

} // namespace switchboard::net

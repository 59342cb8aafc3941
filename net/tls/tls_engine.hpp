#pragma once

// One TLS connection's OpenSSL state, with a BIO of our own under it and
// no Asio: the callers (tls_channel for the handshake and the HTTP side,
// tls_stream for the WebSocket) move the bytes.
//
// Why not Asio's ssl::stream: it gives every connection two 17 KiB buffers
// at construction and a BIO pair of two more once used, and copies every
// byte through them (docs/benchmarks.md, round three). Here ciphertext goes
// out of one growable buffer (a large one is given back once sent), comes in
// either from a small staged buffer (the HTTP side, under Beast's timeouts)
// or straight from the socket into OpenSSL's own record buffer, which
// SSL_MODE_RELEASE_BUFFERS frees between records; decrypted bytes go
// straight into the caller's buffer (the loop's, for a WebSocket).

#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <vector>

namespace switchboard::net {

class tls_engine {
public:
  /// What an operation came to: finished, waiting for ciphertext from the
  /// peer, or failed (with its error).
  enum class status { done, want_read, failed };

  /// The server's side of a connection of `ctx` (kept alive by OpenSSL's
  /// reference count). valid() is false if OpenSSL could not allocate it.
  explicit tls_engine(SSL_CTX* ctx);
  ~tls_engine();
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  bool valid() const noexcept {
    return ssl_ != nullptr;
  }

  SSL* native_handle() noexcept {
    return ssl_;
  }

  // -- ciphertext in -------------------------------------------------------------

  /// Room for ciphertext read from the network (staged until OpenSSL reads
  /// it); commit_input(n) what was read into it.
  char* input_space(std::size_t& size);
  void commit_input(std::size_t n) noexcept {
    in_tail_ += n;
  }

  /// From now on ciphertext also comes straight from `fd` (a non-blocking
  /// socket) once the staged bytes are used up.
  void read_from(int fd) noexcept;

  /// The socket showed readable: a read may find bytes there again.
  void socket_readable() noexcept {
    drained_ = false;
  }

  /// A read could make progress without waiting for the socket: staged
  /// ciphertext, a socket not read empty yet, or bytes OpenSSL holds that
  /// the last read did not find too few.
  bool has_input() const noexcept;

  // -- operations ----------------------------------------------------------------

  status handshake(boost::system::error_code& ec);

  /// Decrypts into `data` (at most `size` bytes); `got` is how many. Fails
  /// with no_buffer_space once reads added more than 64 KiB of answers (key
  /// updates, alerts) to an output the peer has not taken.
  status read(void* data, std::size_t size, std::size_t& got, boost::system::error_code& ec);

  /// Encrypts all of it into output() (never waits: output grows).
  bool write(const void* data, std::size_t size, boost::system::error_code& ec);

  /// Our close_notify, into output().
  void shutdown();

  // -- ciphertext out ------------------------------------------------------------

  const unsigned char* output_data() const noexcept {
    return out_.data() + out_head_;
  }
  std::size_t output_size() const noexcept {
    return out_.size() - out_head_;
  }
  /// `n` bytes of output() went to the network.
  void consume_output(std::size_t n) noexcept;

  /// Bytes this engine's own buffers hold (staged input, output), not
  /// OpenSSL's: none after the upgrade, at most a small output buffer kept
  /// for the next write once the WebSocket wrote.
  std::size_t held_bytes() const noexcept {
    return in_.capacity() + out_.capacity();
  }

private:
  static int bio_write(BIO* bio, const char* data, int size);
  static int bio_read(BIO* bio, char* data, int size);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);
  static BIO_METHOD* bio_method();

  int pull(BIO* bio, char* data, int size);
  status outcome(int rc, boost::system::error_code& ec);
  void before_call() noexcept;

  SSL* ssl_ = nullptr;
  std::vector<char> in_; ///< staged ciphertext [in_head_, in_tail_)
  std::size_t in_head_ = 0;
  std::size_t in_tail_ = 0;
  std::vector<unsigned char> out_; ///< ciphertext to send, from out_head_
  std::size_t out_head_ = 0;
  int fd_ = -1;
  int sys_error_ = 0;    ///< errno of the socket read that failed
  bool drained_ = false; ///< the last socket read left the socket empty
  bool starved_ = false; ///< the last read wanted bytes nobody had
  /// Output that reads added since the output was last empty.
  std::size_t read_output_ = 0;
};

} // namespace switchboard::net

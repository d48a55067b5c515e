// hlsgen threaded C simulation: a bounded, blocking hls::stream, written for
// hlsgen. sim/compile.py force-includes it (-include) in threaded builds and
// predefines the include guard of the hls4ml-shipped hls_stream.h, whose
// unbounded stream is then skipped: every dataflow process runs in its own thread and
// every FIFO holds at most its declared depth (set by HLSGEN_FIFO_DEPTH from
// the same value as the STREAM pragma), so a FIFO too shallow for the
// dataflow deadlocks here as it would in hardware. Streams without a
// declared depth (the testbench's) are unbounded.
// Written for hlsgen; API subset: read, write, empty, full, size, >>, <<.
#ifndef HLSGEN_THREADED_HLS_STREAM_H
#define HLSGEN_THREADED_HLS_STREAM_H

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>

namespace hls {

template <typename T>
class stream {
  public:
    stream() : depth_(0) {}
    explicit stream(const char *name) : name_(name), depth_(0) {}
    stream(const stream &) = delete;
    stream &operator=(const stream &) = delete;

    // 0 means unbounded.
    void set_depth(std::size_t depth) {
#ifdef HLSGEN_FIFO_DEPTH_OVERRIDE
        depth = HLSGEN_FIFO_DEPTH_OVERRIDE;
#endif
        std::lock_guard<std::mutex> lock(mutex_);
        depth_ = depth;
    }

    T read() {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [this] { return !queue_.empty(); });
        T value = queue_.front();
        queue_.pop_front();
        not_full_.notify_all();
        return value;
    }

    void write(const T &value) {
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [this] { return depth_ == 0 || queue_.size() < depth_; });
        queue_.push_back(value);
        not_empty_.notify_all();
    }

    void read(T &value) { value = read(); }
    void operator>>(T &value) { value = read(); }
    void operator<<(const T &value) { write(value); }

    bool empty() {
        std::lock_guard<std::mutex> lock(mutex_);
        return queue_.empty();
    }
    bool full() {
        std::lock_guard<std::mutex> lock(mutex_);
        return depth_ != 0 && queue_.size() >= depth_;
    }
    std::size_t size() {
        std::lock_guard<std::mutex> lock(mutex_);
        return queue_.size();
    }

  private:
    std::string name_;
    std::size_t depth_;
    std::deque<T> queue_;
    std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
};

} // namespace hls

#endif

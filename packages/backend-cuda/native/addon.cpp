// The Node-API side of the addon, identical in both builds: buffer handles over a caching
// allocator, uploads, asynchronous reads (pinned staging + event, resolved on the JS thread
// through a thread-safe function), and one entry point per kernel family that fills a kernel
// argument block and launches it on the device layer (device.h).
#include <napi.h>
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include "device.h"
#include "kernels/args.h"

namespace {
// ---- caching allocator: size classes, blocks go back to a per-class free list ----------------
// Reuse is safe without events: every kernel runs on the one stream, in enqueue order.
struct Block {
  uint64_t ptr;
  size_t cls;
};
std::vector<Block> handles;  // by handle id; ptr 0 = free slot
std::vector<uint32_t> freeIds;
std::map<size_t, std::vector<uint64_t>> cache;
size_t inUse = 0, cachedBytes = 0, peak = 0, deviceAllocs = 0;
std::string initReason = "not initialised";
bool ready = false;
std::string lastLaunch = "none";
uint64_t faultWords = 0;  // device int[2]: [call id, index] of the first bad gather/scatter index
const int kZeroWords[2] = {0, 0};

size_t sizeClass(size_t n) {
  if (n <= 512) return 512;
  if (n <= (size_t(1) << 20)) {
    size_t c = 1024;
    while (c < n) c <<= 1;
    return c;
  }
  const size_t mb2 = size_t(2) << 20;
  return (n + mb2 - 1) / mb2 * mb2;
}

void emptyCacheNow() {
  gfdev::sync();
  for (auto& kv : cache)
    for (uint64_t p : kv.second) gfdev::free(p);
  cache.clear();
  cachedBytes = 0;
}

uint32_t allocHandle(size_t bytes) {
  if (!ready) throw std::runtime_error("the CUDA backend is not available: " + initReason);
  const size_t cls = sizeClass(bytes);
  uint64_t p = 0;
  auto it = cache.find(cls);
  if (it != cache.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    cachedBytes -= cls;
  } else {
    p = gfdev::malloc(cls);
    if (!p) {  // give cached blocks back to the driver and try once more
      emptyCacheNow();
      p = gfdev::malloc(cls);
    }
    if (!p)
      throw std::runtime_error("out of device memory allocating " + std::to_string(bytes) + " bytes (" +
                               std::to_string(inUse) + " bytes in use)");
    deviceAllocs += cls;
  }
  inUse += cls;
  peak = std::max(peak, inUse);
  uint32_t id;
  if (!freeIds.empty()) {
    id = freeIds.back();
    freeIds.pop_back();
    handles[id] = {p, cls};
  } else {
    id = static_cast<uint32_t>(handles.size());
    handles.push_back({p, cls});
  }
  return id;
}

Block& handle(uint32_t id) {
  if (id >= handles.size() || handles[id].ptr == 0) throw std::runtime_error("invalid or freed buffer handle " + std::to_string(id));
  return handles[id];
}

void freeHandle(uint32_t id) {
  Block& b = handle(id);
  cache[b.cls].push_back(b.ptr);
  cachedBytes += b.cls;
  inUse -= b.cls;
  b.ptr = 0;
  freeIds.push_back(id);
}

// ---- argument parsing ----------------------------------------------------------------------
long long num(const Napi::Value& v) { return static_cast<long long>(v.As<Napi::Number>().DoubleValue()); }

// A view arrives as [handle, offset, rank, ...shape, ...strides]; returns its buffer address.
uint64_t view(const Napi::Value& v, GfView& out) {
  Napi::Array a = v.As<Napi::Array>();
  const uint64_t base = handle(static_cast<uint32_t>(num(a[0u]))).ptr;
  std::memset(&out, 0, sizeof out);
  out.off = num(a[1u]);
  out.rank = static_cast<int>(num(a[2u]));
  if (out.rank > GF_MAX_RANK) throw std::runtime_error("rank " + std::to_string(out.rank) + " > " + std::to_string(GF_MAX_RANK));
  for (int d = 0; d < out.rank; d++) {
    out.shape[d] = num(a[3u + d]);
    out.stride[d] = num(a[3u + out.rank + d]);
  }
  return base;
}
template <class T>
T* ptr(uint64_t p) { return reinterpret_cast<T*>(p); }
template <class T>
T* ptrOf(uint32_t id) { return reinterpret_cast<T*>(handle(id).ptr); }

unsigned gridFor(long long work, unsigned block) {
  long long g = (work + block - 1) / block;
  return static_cast<unsigned>(std::max(1LL, std::min<long long>(g, gfdev::maxGrid())));
}

template <class A>
void launch(const char* kernel, unsigned grid, unsigned block, const A& args, const std::string& sizes) {
  lastLaunch = std::string(kernel) + " (" + sizes + ")";
  try {
    gfdev::launch(kernel, grid, block, &args, sizeof args);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(kernel) + " (" + sizes + "): " + e.what());
  }
}

// Wraps an entry point: C++ exceptions become JS errors the TypeScript side turns into BackendErrors.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

std::string withLast(const std::string& msg) { return msg + " (last kernel enqueued: " + lastLaunch + ")"; }

// ---- reads: pinned staging + event, waited on a helper thread, resolved on the JS thread ----
struct ReadJob {
  Napi::Promise::Deferred deferred;
  void* staging;
  size_t bytes;
  void* event;
  std::string error;
};
struct Reader {
  std::mutex m;
  std::condition_variable cv;
  std::deque<ReadJob*> queue;
  Napi::ThreadSafeFunction tsfn;
  int pending = 0;
};
Reader* reader = nullptr;  // deliberately leaked: the waiting thread may outlive module teardown
std::map<size_t, std::vector<void*>> stagingCache;

void readerLoop() {
  for (;;) {
    ReadJob* job;
    {
      std::unique_lock<std::mutex> lock(reader->m);
      reader->cv.wait(lock, [] { return !reader->queue.empty(); });
      job = reader->queue.front();
      reader->queue.pop_front();
    }
    try {
      gfdev::eventWait(job->event);
    } catch (const std::exception& e) {
      job->error = withLast(e.what());
    }
    reader->tsfn.BlockingCall(job, [](Napi::Env env, Napi::Function, ReadJob* j) {
      if (j->error.empty()) {
        Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, j->bytes);
        if (j->bytes) std::memcpy(ab.Data(), j->staging, j->bytes);
        j->deferred.Resolve(ab);
      } else {
        j->deferred.Reject(Napi::Error::New(env, j->error).Value());
      }
      stagingCache[sizeClass(j->bytes)].push_back(j->staging);
      gfdev::eventDestroy(j->event);
      if (--reader->pending == 0) reader->tsfn.Unref(env);
      delete j;
    });
  }
}

// Enqueues a read of `bytes` of `id` (0 bytes: sync()), followed by the 8 bytes of fault words
// (which are then cleared on the stream): the result holds the data, then [call id, index].
Napi::Value enqueueRead(Napi::Env env, uint64_t src, size_t dataBytes) {
  const size_t bytes = dataBytes + 8;
  auto* job = new ReadJob{Napi::Promise::Deferred::New(env), nullptr, bytes, nullptr, {}};
  Napi::Promise promise = job->deferred.Promise();
  try {
    auto& free = stagingCache[sizeClass(bytes)];
    if (!free.empty()) {
      job->staging = free.back();
      free.pop_back();
    } else {
      job->staging = gfdev::pinnedAlloc(sizeClass(bytes));
    }
    if (dataBytes) gfdev::readAsync(job->staging, src, dataBytes);
    gfdev::readAsync(static_cast<uint8_t*>(job->staging) + dataBytes, faultWords, 8);
    gfdev::upload(faultWords, kZeroWords, 8);
    job->event = gfdev::eventRecord();
  } catch (const std::exception& e) {
    if (job->staging) stagingCache[sizeClass(bytes)].push_back(job->staging);
    job->deferred.Reject(Napi::Error::New(env, withLast(e.what())).Value());
    delete job;
    return promise;
  }
  if (reader->pending++ == 0) reader->tsfn.Ref(env);
  {
    std::lock_guard<std::mutex> lock(reader->m);
    reader->queue.push_back(job);
  }
  reader->cv.notify_one();
  return promise;
}

// ---- entry points ---------------------------------------------------------------------------
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("ok", ready);
  o.Set("reason", ready ? "" : initReason);
  o.Set("build", gfdev::buildKind());
  o.Set("device", ready ? gfdev::deviceName() : "");
  o.Set("blas", ready ? gfdev::blasName() : "");
  o.Set("blockSize", gfdev::blockSize());
  return o;
}

Napi::Value Alloc(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), allocHandle(num(info[0]))); }

Napi::Value Free(const Napi::CallbackInfo& info) {
  freeHandle(static_cast<uint32_t>(num(info[0])));
  return info.Env().Undefined();
}

Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::TypedArray t = info[1].As<Napi::TypedArray>();
  const size_t bytes = t.ByteLength();
  const uint32_t id = allocHandle(bytes);
  if (bytes) {
    const uint8_t* src = static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    try {
      gfdev::upload(handle(id).ptr, src, bytes);
    } catch (const std::exception& e) {
      freeHandle(id);
      throw std::runtime_error(withLast(std::string("upload of ") + std::to_string(bytes) + " bytes: " + e.what()));
    }
  }
  return Napi::Number::New(info.Env(), id);
}

Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  const uint64_t src = handle(static_cast<uint32_t>(num(info[0]))).ptr;
  const size_t bytes = num(info[1]);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), bytes + 8);
  try {
    if (bytes) gfdev::readAsync(ab.Data(), src, bytes);  // pageable: completes by the readSync below
    gfdev::readSync(static_cast<uint8_t*>(ab.Data()) + bytes, faultWords, 8);
    gfdev::upload(faultWords, kZeroWords, 8);
  } catch (const std::exception& e) {
    throw std::runtime_error(withLast(e.what()));
  }
  return ab;
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  return enqueueRead(info.Env(), handle(static_cast<uint32_t>(num(info[0]))).ptr, num(info[1]));
}

Napi::Value Sync(const Napi::CallbackInfo& info) { return enqueueRead(info.Env(), 0, 0); }

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("bytesInUse", static_cast<double>(inUse));
  o.Set("bytesCached", static_cast<double>(cachedBytes));
  o.Set("peakBytesInUse", static_cast<double>(peak));
  o.Set("bytesFromDriverTotal", static_cast<double>(deviceAllocs));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  emptyCacheNow();
  return info.Env().Undefined();
}

// ew(kernel, op, inType, outType, n, value, outId (-1: new contiguous), dstView|null, views[], outBytes)
Napi::Value Elementwise(const Napi::CallbackInfo& info) {
  const std::string kernel = info[0].As<Napi::String>();
  GfEwArgs a;
  std::memset(&a, 0, sizeof a);
  a.op = static_cast<int>(num(info[1]));
  a.inType = static_cast<int>(num(info[2]));
  a.outType = static_cast<int>(num(info[3]));
  a.n = num(info[4]);
  a.value = info[5].As<Napi::Number>().DoubleValue();
  long long outId = num(info[6]);
  Napi::Array views = info[8].As<Napi::Array>();
  for (uint32_t i = 0; i < views.Length() && i < 3; i++) a.in[i] = ptr<void>(view(views[i], a.v[i]));
  if (outId < 0) {
    outId = allocHandle(num(info[9]));
    a.dst.rank = 1;
    a.dst.shape[0] = a.n > 0 ? a.n : 1;
    a.dst.stride[0] = 1;
    a.out = ptrOf<void>(static_cast<uint32_t>(outId));
  } else {
    a.out = ptr<void>(view(info[7], a.dst));
  }
  if (a.n > 0) launch(kernel.c_str(), gridFor(a.n, gfdev::blockSize()), gfdev::blockSize(), a, "n=" + std::to_string(a.n));
  return Napi::Number::New(info.Env(), static_cast<double>(outId));
}

// reduce(kernel, op, nOut, nRed, outBytes, keptView, redView)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const std::string kernel = info[0].As<Napi::String>();
  GfReduceArgs a;
  std::memset(&a, 0, sizeof a);
  a.op = static_cast<int>(num(info[1]));
  a.nOut = num(info[2]);
  a.nRed = num(info[3]);
  a.in = ptr<void>(view(info[5], a.kept));
  view(info[6], a.red);
  a.red.off = 0;
  const uint32_t out = allocHandle(num(info[4]));
  a.out = ptrOf<void>(out);
  if (a.nOut > 0) {
    launch(kernel.c_str(), static_cast<unsigned>(std::min<long long>(a.nOut, gfdev::maxGrid())), gfdev::blockSize(), a,
           "outputs=" + std::to_string(a.nOut) + " reduced=" + std::to_string(a.nRed));
  }
  return Napi::Number::New(info.Env(), out);
}

// line(kernel, op, nLines, len, step, inner, outBytes, linesView)
Napi::Value Line(const Napi::CallbackInfo& info) {
  const std::string kernel = info[0].As<Napi::String>();
  GfLineArgs a;
  std::memset(&a, 0, sizeof a);
  a.op = static_cast<int>(num(info[1]));
  a.nLines = num(info[2]);
  a.len = num(info[3]);
  a.step = num(info[4]);
  a.inner = num(info[5]);
  a.in = ptr<void>(view(info[7], a.lines));
  const uint32_t out = allocHandle(num(info[6]));
  a.out = ptrOf<void>(out);
  if (a.nLines > 0 && a.len > 0) {
    launch(kernel.c_str(), gridFor(a.nLines, gfdev::blockSize()), gfdev::blockSize(), a,
           "lines=" + std::to_string(a.nLines) + " length=" + std::to_string(a.len));
  }
  return Napi::Number::New(info.Env(), out);
}

// index(kernel, mode, axis, n, outId, xView, indexView, outView, axisSize, callId)
Napi::Value Index(const Napi::CallbackInfo& info) {
  const std::string kernel = info[0].As<Napi::String>();
  GfIndexArgs a;
  std::memset(&a, 0, sizeof a);
  a.mode = static_cast<int>(num(info[1]));
  a.axis = static_cast<int>(num(info[2]));
  a.n = num(info[3]);
  const uint32_t out = static_cast<uint32_t>(num(info[4]));
  a.out = ptrOf<void>(out);
  a.x = ptr<void>(view(info[5], a.xv));
  a.index = ptr<int>(view(info[6], a.iv));
  a.size = num(info[8]);
  a.call = static_cast<int>(num(info[9]));
  a.fault = ptr<int>(faultWords);
  if (!info[7].IsNull()) {
    Napi::Array ov = info[7].As<Napi::Array>();  // [rank, ...shape, ...strides] of the output
    a.ov.rank = static_cast<int>(num(ov[0u]));
    for (int d = 0; d < a.ov.rank; d++) {
      a.ov.shape[d] = num(ov[1u + d]);
      a.ov.stride[d] = num(ov[1u + a.ov.rank + d]);
    }
  }
  if (a.n > 0) launch(kernel.c_str(), gridFor(a.n, gfdev::blockSize()), gfdev::blockSize(), a, "n=" + std::to_string(a.n));
  return Napi::Number::New(info.Env(), out);
}

// matmul(M, N, K, batch, aView(batch dims), aRow, aCol, bView, bRow, bCol, act, biasView|null,
//        aBatchStride, bBatchStride): aView/bView carry the batch dims; -1 batch stride: not uniform
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  GfMatmulArgs a;
  std::memset(&a, 0, sizeof a);
  a.M = num(info[0]);
  a.N = num(info[1]);
  a.K = num(info[2]);
  a.batch = num(info[3]);
  a.A = ptr<const float>(view(info[4], a.aBatch));
  a.aRow = num(info[5]);
  a.aCol = num(info[6]);
  a.B = ptr<const float>(view(info[7], a.bBatch));
  a.bRow = num(info[8]);
  a.bCol = num(info[9]);
  a.act = static_cast<int>(num(info[10]));
  if (!info[11].IsNull()) {
    GfView bv;
    a.bias = ptr<const float>(view(info[11], bv));
    a.hasBias = 1;
    a.biasOff = bv.off;
    a.biasStride = bv.rank ? bv.stride[0] : 0;
  }
  const uint32_t out = allocHandle(static_cast<size_t>(a.batch * a.M * a.N) * 4);
  a.out = ptrOf<float>(out);
  const std::string sizes = "batch=" + std::to_string(a.batch) + " M=" + std::to_string(a.M) + " N=" +
                            std::to_string(a.N) + " K=" + std::to_string(a.K);
  if (a.batch * a.M * a.N == 0) return Napi::Number::New(info.Env(), out);
  bool blas = false;
  if (a.K > 0) {
    lastLaunch = "cublasSgemmStridedBatched (" + sizes + ")";
    try {
      const uint64_t A = reinterpret_cast<uint64_t>(a.A + a.aBatch.off),
                     B = reinterpret_cast<uint64_t>(a.B + a.bBatch.off);
      blas = gfdev::gemm(a.batch, a.M, a.N, a.K, A, a.aRow, a.aCol, num(info[12]), B, a.bRow, a.bCol, num(info[13]),
                         reinterpret_cast<uint64_t>(a.out));
    } catch (const std::exception& e) {
      throw std::runtime_error("matmul (" + sizes + "): " + e.what());
    }
  }
  if (!blas) {
    const long long tiles = a.batch * ((a.M + 63) / 64) * ((a.N + 63) / 64);
    launch("gf_matmul", static_cast<unsigned>(std::min<long long>(tiles, gfdev::maxGrid())), 256, a, sizes);
  } else if (a.hasBias || a.act >= 0) {
    launch("gf_bias_act", gridFor(a.batch * a.M * a.N, gfdev::blockSize()), gfdev::blockSize(), a, sizes);
  }
  return Napi::Number::New(info.Env(), out);
}

// rows(kernel, op, rows, len, inner, eps, xId, wView|null, bView|null, withStats) -> [out, mean?, rstd?]
Napi::Value Rows(const Napi::CallbackInfo& info) {
  const std::string kernel = info[0].As<Napi::String>();
  GfRowArgs a;
  std::memset(&a, 0, sizeof a);
  a.op = static_cast<int>(num(info[1]));
  a.rows = num(info[2]);
  a.len = num(info[3]);
  a.inner = num(info[4]);
  a.eps = info[5].As<Napi::Number>().FloatValue();
  GfView v;
  a.x = ptr<const float>(view(info[6], v)) + v.off;
  if (!info[7].IsNull()) { a.w = ptr<const float>(view(info[7], v)) + v.off; a.hasW = 1; }
  if (!info[8].IsNull()) { a.b = ptr<const float>(view(info[8], v)) + v.off; a.hasB = 1; }
  const bool stats = info[9].As<Napi::Boolean>();
  Napi::Array result = Napi::Array::New(info.Env());
  const uint32_t out = allocHandle(static_cast<size_t>(a.rows * a.len) * 4);
  a.out = ptrOf<float>(out);
  result.Set(0u, out);
  if (stats) {
    const uint32_t mean = allocHandle(static_cast<size_t>(a.rows) * 4), rstd = allocHandle(static_cast<size_t>(a.rows) * 4);
    a.mean = ptrOf<float>(mean);
    a.rstd = ptrOf<float>(rstd);
    result.Set(1u, mean);
    result.Set(2u, rstd);
  }
  if (a.rows > 0) {
    launch(kernel.c_str(), static_cast<unsigned>(std::min<long long>(a.rows, gfdev::maxGrid())), gfdev::blockSize(), a,
           "rows=" + std::to_string(a.rows) + " length=" + std::to_string(a.len));
  }
  return result;
}

// cell(kernel, B, H, inViews[], outSizes[]) -> out ids; inputs are contiguous views
Napi::Value Cell(const Napi::CallbackInfo& info) {
  const std::string kernel = info[0].As<Napi::String>();
  GfCellArgs a;
  std::memset(&a, 0, sizeof a);
  a.B = num(info[1]);
  a.H = num(info[2]);
  Napi::Array ins = info[3].As<Napi::Array>(), outs = info[4].As<Napi::Array>();
  for (uint32_t i = 0; i < ins.Length() && i < 5; i++) {
    GfView v;
    a.in[i] = ptr<const float>(view(ins[i], v)) + v.off;
  }
  Napi::Array result = Napi::Array::New(info.Env());
  for (uint32_t i = 0; i < outs.Length() && i < 3; i++) {
    const uint32_t id = allocHandle(static_cast<size_t>(num(outs[i])) * 4);
    a.out[i] = ptrOf<float>(id);
    result.Set(i, id);
  }
  if (a.B * a.H > 0)
    launch(kernel.c_str(), gridFor(a.B * a.H, gfdev::blockSize()), gfdev::blockSize(), a,
           "B=" + std::to_string(a.B) + " H=" + std::to_string(a.H));
  return result;
}

void strides4(const Napi::Value& v, const void** p, long long* s) {
  GfView g;
  *p = ptr<const void>(view(v, g));
  s[0] = g.off;
  for (int d = 0; d < 3; d++) s[d + 1] = g.stride[d];
}

// attention(B, L, S, E, Ev, scale, causal, q, k, v, mask|null) -> [out, weights]
Napi::Value Attention(const Napi::CallbackInfo& info) {
  GfAttnArgs a;
  std::memset(&a, 0, sizeof a);
  a.B = num(info[0]);
  a.L = num(info[1]);
  a.S = num(info[2]);
  a.E = num(info[3]);
  a.Ev = num(info[4]);
  a.scale = info[5].As<Napi::Number>().FloatValue();
  a.causal = info[6].As<Napi::Boolean>() ? 1 : 0;
  const void* p;
  strides4(info[7], &p, a.qs); a.q = static_cast<const float*>(p);
  strides4(info[8], &p, a.ks); a.k = static_cast<const float*>(p);
  strides4(info[9], &p, a.vs); a.v = static_cast<const float*>(p);
  if (!info[10].IsNull()) { strides4(info[10], &p, a.ms); a.mask = static_cast<const float*>(p); a.hasMask = 1; }
  const uint32_t out = allocHandle(static_cast<size_t>(a.B * a.L * a.Ev) * 4);
  const uint32_t w = allocHandle(static_cast<size_t>(a.B * a.L * a.S) * 4);
  a.out = ptrOf<float>(out);
  a.weights = ptrOf<float>(w);
  if (a.B * a.L > 0)
    launch("gf_attention", static_cast<unsigned>(std::min<long long>(a.B * a.L, gfdev::maxGrid())), gfdev::blockSize(), a,
           "B=" + std::to_string(a.B) + " L=" + std::to_string(a.L) + " S=" + std::to_string(a.S) + " E=" +
               std::to_string(a.E));
  Napi::Array result = Napi::Array::New(info.Env());
  result.Set(0u, out);
  result.Set(1u, w);
  return result;
}

// ---- whole-sequence recurrence -----------------------------------------------------------
// C[M,N] = A B for single row-major products the recurrence needs: cuBLAS when loaded, else
// the package's GEMM kernel (its grid covers every tile; no bias, no activation).
void gemmInto(long long M, long long N, long long K, const float* A, long long aRow, long long aCol, const float* B,
              long long bRow, long long bCol, float* C, const char* what) {
  if (M * N == 0) return;
  const std::string sizes = std::string(what) + " M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K);
  if (K > 0) {
    lastLaunch = "cublasSgemmStridedBatched (" + sizes + ")";
    try {
      if (gfdev::gemm(1, M, N, K, reinterpret_cast<uint64_t>(A), aRow, aCol, 0, reinterpret_cast<uint64_t>(B), bRow, bCol,
                      0, reinterpret_cast<uint64_t>(C)))
        return;
    } catch (const std::exception& e) {
      throw std::runtime_error("recurrent GEMM (" + sizes + "): " + e.what());
    }
  }
  GfMatmulArgs g;
  std::memset(&g, 0, sizeof g);
  g.M = M; g.N = N; g.K = K; g.batch = 1; g.act = -1;
  g.A = A; g.aRow = aRow; g.aCol = aCol;
  g.B = B; g.bRow = bRow; g.bCol = bCol;
  g.out = C;
  const long long tiles = ((M + 63) / 64) * ((N + 63) / 64);
  launch("gf_matmul", static_cast<unsigned>(std::min<long long>(tiles, gfdev::maxGrid())), 256, g, sizes);
}

// Scratch device buffers of one call, freed when it returns (reuse is ordered behind the
// launches that use them on the one stream).
struct Scratch {
  std::vector<uint32_t> ids;
  float* make(size_t floats) {
    ids.push_back(allocHandle(std::max<size_t>(floats, 1) * 4));
    return ptrOf<float>(ids.back());
  }
  ~Scratch() {
    for (uint32_t id : ids) freeHandle(id);
  }
};

const float* contiguousPtr(const Napi::Value& v) {
  GfView g;
  return ptr<const float>(view(v, g)) + g.off;
}

struct SeqPlan {
  int mode, G;
  long long H, P, B, N, T;
  bool reverse;
  std::vector<long long> sizes, offsets;
};

SeqPlan seqPlan(const Napi::CallbackInfo& info) {
  SeqPlan p;
  p.mode = static_cast<int>(num(info[0]));
  p.G = p.mode == SEQ_LSTM ? 4 : p.mode == SEQ_GRU ? 3 : 1;
  Napi::Array bs = info[1].As<Napi::Array>();
  p.T = bs.Length();
  p.N = 0;
  for (uint32_t t = 0; t < bs.Length(); t++) {
    p.sizes.push_back(num(bs[t]));
    p.offsets.push_back(p.N);
    p.N += p.sizes.back();
  }
  p.B = p.T ? p.sizes[0] : 0;
  p.H = num(info[2]);
  p.P = num(info[3]);
  p.reverse = info[4].As<Napi::Boolean>();
  return p;
}

std::string seqSizes(const SeqPlan& p) {
  return "T=" + std::to_string(p.T) + " B=" + std::to_string(p.B) + " H=" + std::to_string(p.H) + " P=" + std::to_string(p.P);
}

// seq(mode, batchSizes, H, P, reverse, train, gi, hState, cState|-1, wHh, bHh|null, wHr|null) -> [y, ws|-1].
// hState / cState are fresh buffers holding h0 / c0, advanced in place (they become hN / cN).
Napi::Value Seq(const Napi::CallbackInfo& info) {
  const SeqPlan p = seqPlan(info);
  const bool train = info[5].As<Napi::Boolean>();
  GfSeqArgs a;
  std::memset(&a, 0, sizeof a);
  a.mode = p.mode; a.H = p.H; a.P = p.P; a.N = p.N; a.train = train ? 1 : 0;
  a.gi = contiguousPtr(info[6]);
  a.h = ptrOf<float>(static_cast<uint32_t>(num(info[7])));
  const long long cId = num(info[8]);
  if (cId >= 0) a.c = ptrOf<float>(static_cast<uint32_t>(cId));
  const float* W = contiguousPtr(info[9]);
  if (!info[10].IsNull()) { a.bias = contiguousPtr(info[10]); a.hasBias = 1; }
  if (!info[11].IsNull()) { a.wr = contiguousPtr(info[11]); a.proj = 1; }
  const long long GH = p.G * p.H;
  const long long wsFloats = p.mode == SEQ_LSTM ? p.N * (5 * p.H + p.P + (a.proj ? p.H : 0)) : p.mode == SEQ_GRU ? p.N * 5 * p.H : p.N * p.H;
  const uint32_t y = allocHandle(static_cast<size_t>(p.N * p.P) * 4);
  a.y = ptrOf<float>(y);
  long long ws = -1;
  if (train) { ws = allocHandle(static_cast<size_t>(wsFloats) * 4); a.ws = ptrOf<float>(static_cast<uint32_t>(ws)); }
  Scratch scratch;
  float* gh = scratch.make(static_cast<size_t>(p.B * GH));
  a.gh = gh;
  if (a.proj) a.hRaw = scratch.make(static_cast<size_t>(p.B * p.H));
  const std::string sizes = seqSizes(p);
  const unsigned block = gfdev::blockSize();
  for (long long k = 0; k < p.T; k++) {
    const long long t = p.reverse ? p.T - 1 - k : k;
    a.Bt = p.sizes[t];
    a.row0 = p.offsets[t];
    // gh = h[:Bt] W_hh^T (the bias is added in the cell kernel).
    gemmInto(a.Bt, GH, p.P, a.h, p.P, 1, W, 1, p.P, gh, "recurrentSequence W_hh");
    if (a.Bt * p.H > 0) launch("gf_seq_cell", gridFor(a.Bt * p.H, block), block, a, sizes);
    if (a.proj && a.Bt * p.P > 0) launch("gf_seq_project", gridFor(a.Bt * p.P, block), block, a, sizes);
  }
  Napi::Array result = Napi::Array::New(info.Env());
  result.Set(0u, y);
  result.Set(1u, static_cast<double>(ws));
  return result;
}

// seqBackward(mode, batchSizes, H, P, reverse, hasBias, wHh, wHr|null, y, ws, dY, dhState, dcState|-1)
//   -> [dGi, dWhh, dBhh|-1, dWhr|-1]; dhState / dcState hold dHN / dCN and become dH0 / dC0.
Napi::Value SeqBackward(const Napi::CallbackInfo& info) {
  const SeqPlan p = seqPlan(info);
  const bool hasBias = info[5].As<Napi::Boolean>();
  GfSeqArgs a;
  std::memset(&a, 0, sizeof a);
  a.mode = p.mode; a.H = p.H; a.P = p.P; a.N = p.N; a.train = 1;
  const float* W = contiguousPtr(info[6]);
  const float* Wr = nullptr;
  if (!info[7].IsNull()) { Wr = contiguousPtr(info[7]); a.proj = 1; }
  a.y = const_cast<float*>(contiguousPtr(info[8]));
  a.ws = const_cast<float*>(contiguousPtr(info[9]));
  a.dY = contiguousPtr(info[10]);
  a.dh = ptrOf<float>(static_cast<uint32_t>(num(info[11])));
  const long long dcId = num(info[12]);
  if (dcId >= 0) a.dc = ptrOf<float>(static_cast<uint32_t>(dcId));
  const long long GH = p.G * p.H;
  const uint32_t dGi = allocHandle(static_cast<size_t>(p.N * GH) * 4);
  a.dGi = ptrOf<float>(dGi);
  Scratch scratch;
  a.dGh = p.mode == SEQ_GRU ? scratch.make(static_cast<size_t>(p.N * GH)) : a.dGi;
  float* dhMat = scratch.make(static_cast<size_t>(p.B * p.P));
  a.dhMat = dhMat;
  float* dhr = nullptr;
  if (a.proj) {
    a.dHs = scratch.make(static_cast<size_t>(p.N * p.P));
    dhr = scratch.make(static_cast<size_t>(p.B * p.H));
    a.dhr = dhr;
  }
  const std::string sizes = seqSizes(p);
  const unsigned block = gfdev::blockSize();
  a.mPrev = 0;
  for (long long k = 0; k < p.T; k++) {
    const long long t = p.reverse ? k : p.T - 1 - k;  // the reverse of the forward's order
    a.Bt = p.sizes[t];
    a.row0 = p.offsets[t];
    a.rowsLaunched = std::max(a.Bt, a.mPrev);
    if (a.proj) {
      if (a.rowsLaunched * p.P > 0) launch("gf_seq_bwd_grad", gridFor(a.rowsLaunched * p.P, block), block, a, sizes);
      // dhr = dHs[rows of t] W_hr: the gradient of the unprojected h.
      gemmInto(a.Bt, p.H, p.P, a.dHs + a.row0 * p.P, p.P, 1, Wr, p.H, 1, dhr, "recurrentSequenceBackward W_hr");
    }
    if (a.rowsLaunched * p.H > 0) launch("gf_seq_cell_bwd", gridFor(a.rowsLaunched * p.H, block), block, a, sizes);
    // dhMat = dGh[rows of t] W_hh: the state gradient through the recurrent product.
    gemmInto(a.Bt, p.P, GH, a.dGh + a.row0 * GH, GH, 1, W, p.P, 1, dhMat, "recurrentSequenceBackward W_hh");
    a.mPrev = a.Bt;
  }
  if (a.mPrev * p.P > 0) launch("gf_seq_bwd_final", gridFor(a.mPrev * p.P, block), block, a, sizes);
  // Weight gradients over every row at once: dW_hh = dGh^T hPrev, dW_hr = dHs^T hRaw.
  const long long hPrevOff = p.mode == SEQ_LSTM ? p.N * 5 * p.H : p.mode == SEQ_GRU ? p.N * 4 * p.H : 0;
  const uint32_t dW = allocHandle(static_cast<size_t>(GH * p.P) * 4);
  gemmInto(GH, p.P, p.N, a.dGh, 1, GH, a.ws + hPrevOff, p.P, 1, ptrOf<float>(dW), "recurrentSequenceBackward dW_hh");
  long long dB = -1;
  if (hasBias) {
    dB = allocHandle(static_cast<size_t>(GH) * 4);
    GfColSumArgs cs{p.N, GH, ptrOf<float>(static_cast<uint32_t>(dB)), a.dGh};
    if (GH > 0) launch("gf_col_sum", gridFor(GH, block), block, cs, sizes);
  }
  long long dWr = -1;
  if (a.proj) {
    dWr = allocHandle(static_cast<size_t>(p.P * p.H) * 4);
    gemmInto(p.P, p.H, p.N, a.dHs, 1, p.P, a.ws + p.N * (5 * p.H + p.P), p.H, 1, ptrOf<float>(static_cast<uint32_t>(dWr)),
             "recurrentSequenceBackward dW_hr");
  }
  Napi::Array result = Napi::Array::New(info.Env());
  result.Set(0u, dGi);
  result.Set(1u, dW);
  result.Set(2u, static_cast<double>(dB));
  result.Set(3u, static_cast<double>(dWr));
  return result;
}

// adam(param, grad, expAvg, expAvgSq, maxExpAvgSq|null, n, constants[9], flags): in place.
// Targets are contiguous views; the gradient any view (its collapsed shape and strides).
Napi::Value Adam(const Napi::CallbackInfo& info) {
  GfAdamArgs a;
  std::memset(&a, 0, sizeof a);
  a.p = const_cast<float*>(contiguousPtr(info[0]));
  a.g = ptr<const float>(view(info[1], a.gv));
  a.m = const_cast<float*>(contiguousPtr(info[2]));
  a.v = const_cast<float*>(contiguousPtr(info[3]));
  if (!info[4].IsNull()) { a.vmax = const_cast<float*>(contiguousPtr(info[4])); a.amsgrad = 1; }
  a.n = num(info[5]);
  Napi::Array c = info[6].As<Napi::Array>();
  float* k[] = {&a.b1, &a.c1, &a.b2, &a.c2, &a.bc2, &a.eps, &a.negStep, &a.wd, &a.decay};
  for (uint32_t i = 0; i < 9; i++) *k[i] = c.Get(i).As<Napi::Number>().FloatValue();
  const int flags = static_cast<int>(num(info[7]));
  a.decoupled = flags & 1;
  a.maximize = (flags >> 1) & 1;
  a.useWd = (flags >> 2) & 1;
  if (a.n > 0) launch("gf_adam", gridFor(a.n, gfdev::blockSize()), gfdev::blockSize(), a, "n=" + std::to_string(a.n));
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  initReason = gfdev::init();
  ready = initReason.empty();
  if (ready && !faultWords) {
    faultWords = gfdev::malloc(8);
    if (faultWords) gfdev::upload(faultWords, kZeroWords, 8);
    else { ready = false; initReason = "cannot allocate 8 bytes of device memory"; }
  }
  if (!reader) {
    reader = new Reader();
    reader->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                                 "ghostflow-cuda-read", 0, 1);
    reader->tsfn.Unref(env);
    std::thread(readerLoop).detach();
  }
#define GF_EXPORT(name, fn) exports.Set(name, Napi::Function::New(env, guarded<fn>, name))
  GF_EXPORT("info", Info);
  GF_EXPORT("alloc", Alloc);
  GF_EXPORT("free", Free);
  GF_EXPORT("upload", Upload);
  GF_EXPORT("readSync", ReadSync);
  GF_EXPORT("read", Read);
  GF_EXPORT("sync", Sync);
  GF_EXPORT("memory", Memory);
  GF_EXPORT("emptyCache", EmptyCache);
  GF_EXPORT("elementwise", Elementwise);
  GF_EXPORT("reduce", Reduce);
  GF_EXPORT("line", Line);
  GF_EXPORT("index", Index);
  GF_EXPORT("matmul", Matmul);
  GF_EXPORT("rows", Rows);
  GF_EXPORT("cell", Cell);
  GF_EXPORT("attention", Attention);
  GF_EXPORT("seq", Seq);
  GF_EXPORT("seqBackward", SeqBackward);
  GF_EXPORT("adam", Adam);
  return exports;
}
}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Init)

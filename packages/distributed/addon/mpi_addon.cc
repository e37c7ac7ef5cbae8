// The MPI engine of @ghostflow/distributed: non-blocking collectives progressed off the JS thread.
//
// Threading: one progress thread owns MPI. It calls MPI_Init_thread (so it is MPI's "main"
// thread and MPI_THREAD_FUNNELED is all we ask for: every MPI implementation and every Open MPI
// build provides it, unlike MPI_THREAD_MULTIPLE, which some Open MPI transports refuse or run
// slowly), starts each collective the JS thread submits (MPI_Iallreduce & co), polls MPI_Test,
// and resolves the JS Promise through a thread-safe function. The JS thread never calls MPI.
//
// Arrival notes (for timeout messages): when a rank starts its k-th collective it sends the
// number k to every other rank on a private communicator; the progress thread keeps one
// MPI_Irecv posted there while collectives are in flight. When collective k times out, the
// ranks whose latest note is below k are the ones that never called it.
//
// Buffers: the JS side hands over typed arrays it owns (fresh host copies) and does not touch them
// until the Promise settles; this file keeps a reference to each so the GC cannot move or free
// them. A collective that timed out may still be written by MPI later, so its references are
// never released (the job is about to abort anyway).
#include <dlfcn.h>
#include <mpi.h>
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kNoteTag = 7;
constexpr unsigned kBurst = 16;  // MPI_Test rounds between two 50 us sleeps

enum class Kind { Barrier, AllReduce, Broadcast, AllGather, ReduceScatter };

struct Op {
  explicit Op(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
  Kind kind = Kind::Barrier;
  std::string name;
  // JS-thread only
  Napi::Promise::Deferred deferred;
  Napi::ObjectReference keepSend, keepRecv;
  // progress-thread only (until completion is handed back)
  void* send = nullptr;
  void* recv = nullptr;
  int count = 0;
  MPI_Datatype dtype = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  int root = 0;
  int seq = 0;
  MPI_Request req = MPI_REQUEST_NULL;
  Clock::time_point deadline;
  // result
  bool ok = true;
  bool timedOut = false;
  std::string error;
  std::vector<int> missing;
};

struct NoteSend {
  std::unique_ptr<int> value;
  MPI_Request req = MPI_REQUEST_NULL;
};

enum class Command { None, Finalize, Abort };

struct State {
  std::mutex mu;
  std::condition_variable cv;     // wakes the progress thread
  std::condition_variable doneCv; // wakes the JS thread waiting for init / finalize
  std::deque<Op*> queue;
  Command command = Command::None;
  int abortCode = 1;
  bool initDone = false;
  bool threadExited = false;
  std::string initError;
  int rank = -1;
  int size = 0;
  int threadLevel = 0;
  std::atomic<long long> timeoutMs{300000};
  std::atomic<bool> broken{false};
  std::thread thread;
  Napi::ThreadSafeFunction tsfn;
  bool started = false;
  bool finalized = false;
  int pending = 0;  // JS thread only: submitted, not yet settled
};

State* state = nullptr;

std::string mpiErrorString(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(buf, len);
}

// Open MPI loads its transport plugins with dlopen and expects libmpi's symbols to be global;
// a Node addon is loaded RTLD_LOCAL, so promote the already-loaded libmpi to RTLD_GLOBAL.
void promoteLibmpi() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &info) && info.dli_fname) {
    dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  }
}

// Hands a settled op back to the JS thread.
void settle(State* s, Op* op) {
  s->tsfn.BlockingCall(op, [](Napi::Env env, Napi::Function, Op* op) {
    State* st = state;
    if (op->ok) {
      op->deferred.Resolve(env.Undefined());
    } else {
      Napi::Error err = Napi::Error::New(env, op->error);
      err.Set("collective", Napi::String::New(env, op->name));
      err.Set("timedOut", Napi::Boolean::New(env, op->timedOut));
      Napi::Array missing = Napi::Array::New(env, op->missing.size());
      for (size_t i = 0; i < op->missing.size(); i++) missing.Set(static_cast<uint32_t>(i), op->missing[i]);
      err.Set("missingRanks", missing);
      op->deferred.Reject(err.Value());
    }
    if (st) {
      st->pending--;
      if (st->pending == 0 && !st->finalized) st->tsfn.Unref(env);
    }
    // A timed-out op's buffers may still be written by MPI: keep them (and the op) alive.
    if (!op->timedOut) delete op;
  });
}

int startOp(State* s, Op* op, MPI_Comm comm) {
  switch (op->kind) {
    case Kind::Barrier:
      return MPI_Ibarrier(comm, &op->req);
    case Kind::AllReduce:
      return MPI_Iallreduce(MPI_IN_PLACE, op->send, op->count, op->dtype, op->op, comm, &op->req);
    case Kind::Broadcast:
      return MPI_Ibcast(op->send, op->count, op->dtype, op->root, comm, &op->req);
    case Kind::AllGather:
      return MPI_Iallgather(op->send, op->count, op->dtype, op->recv, op->count, op->dtype, comm, &op->req);
    case Kind::ReduceScatter:
      return MPI_Ireduce_scatter_block(op->send, op->recv, op->count, op->dtype, op->op, comm, &op->req);
  }
  (void)s;
  return MPI_ERR_OTHER;
}

void progressMain(State* s) {
  promoteLibmpi();
  int provided = 0;
  int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm opsComm = MPI_COMM_NULL, noteComm = MPI_COMM_NULL;
  if (rc == MPI_SUCCESS) {
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_dup(MPI_COMM_WORLD, &opsComm);
    MPI_Comm_dup(MPI_COMM_WORLD, &noteComm);
    MPI_Comm_set_errhandler(opsComm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(noteComm, MPI_ERRORS_RETURN);
  }
  {
    std::lock_guard<std::mutex> lock(s->mu);
    if (rc != MPI_SUCCESS) {
      s->initError = "MPI_Init_thread failed: " + mpiErrorString(rc);
    } else {
      MPI_Comm_rank(MPI_COMM_WORLD, &s->rank);
      MPI_Comm_size(MPI_COMM_WORLD, &s->size);
      s->threadLevel = provided;
    }
    s->initDone = true;
    if (rc != MPI_SUCCESS) s->threadExited = true;
  }
  s->doneCv.notify_all();
  if (rc != MPI_SUCCESS) return;

  const int me = s->rank;
  const int size = s->size;
  std::vector<int> arrived(size, 0);
  int noteValue = 0;
  MPI_Request noteReq = MPI_REQUEST_NULL;
  if (size > 1) MPI_Irecv(&noteValue, 1, MPI_INT, MPI_ANY_SOURCE, kNoteTag, noteComm, &noteReq);
  std::vector<NoteSend> noteSends;
  std::vector<Op*> active;
  int seq = 0;
  unsigned spins = 0;

  auto drainNotes = [&]() {
    if (noteReq == MPI_REQUEST_NULL) return;
    for (;;) {
      int flag = 0;
      MPI_Status st;
      if (MPI_Test(&noteReq, &flag, &st) != MPI_SUCCESS || !flag) return;
      if (st.MPI_SOURCE >= 0 && st.MPI_SOURCE < size && noteValue > arrived[st.MPI_SOURCE]) arrived[st.MPI_SOURCE] = noteValue;
      MPI_Irecv(&noteValue, 1, MPI_INT, MPI_ANY_SOURCE, kNoteTag, noteComm, &noteReq);
    }
  };

  for (;;) {
    std::deque<Op*> incoming;
    Command command;
    {
      std::unique_lock<std::mutex> lock(s->mu);
      if (active.empty() && noteSends.empty()) {
        s->cv.wait(lock, [&] { return !s->queue.empty() || s->command != Command::None; });
      }
      incoming.swap(s->queue);
      command = s->command;
    }
    if (command == Command::Abort) {
      // Give the launcher's output forwarding a moment to pass on this rank's last words
      // (the uncaught error Node just printed) before the job is torn down.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      MPI_Abort(MPI_COMM_WORLD, s->abortCode);
      std::_Exit(s->abortCode);  // MPI_Abort does not return; belt and braces
    }
    for (Op* op : incoming) {
      op->seq = ++seq;
      for (int r = 0; r < size; r++) {
        if (r == me) continue;
        NoteSend n{std::make_unique<int>(op->seq), MPI_REQUEST_NULL};
        if (MPI_Isend(n.value.get(), 1, MPI_INT, r, kNoteTag, noteComm, &n.req) == MPI_SUCCESS) noteSends.push_back(std::move(n));
      }
      op->deadline = Clock::now() + std::chrono::milliseconds(s->timeoutMs.load());
      int src = startOp(s, op, opsComm);
      if (src != MPI_SUCCESS) {
        op->ok = false;
        op->error = op->name + " could not start: " + mpiErrorString(src);
        settle(s, op);
      } else {
        active.push_back(op);
      }
    }
    if (command == Command::Finalize && active.empty()) break;

    bool anyTimedOutNow = false;
    for (size_t i = 0; i < active.size();) {
      Op* op = active[i];
      int flag = 0;
      int trc = MPI_Test(&op->req, &flag, MPI_STATUS_IGNORE);
      if (trc != MPI_SUCCESS || flag) {
        active.erase(active.begin() + static_cast<long>(i));
        if (op->timedOut) continue;  // already rejected; its memory stays (see the top note)
        if (trc != MPI_SUCCESS) {
          op->ok = false;
          op->error = op->name + " failed: " + mpiErrorString(trc);
        }
        settle(s, op);
        continue;
      }
      if (!op->timedOut && Clock::now() >= op->deadline) {
        drainNotes();
        op->timedOut = true;
        op->ok = false;
        for (int r = 0; r < size; r++) {
          if (r != me && arrived[r] < op->seq) op->missing.push_back(r);
        }
        std::string who;
        for (size_t k = 0; k < op->missing.size(); k++) who += (k ? ", " : "") + std::to_string(op->missing[k]);
        op->error = op->name + " (collective #" + std::to_string(op->seq) + ") timed out after " +
                    std::to_string(s->timeoutMs.load()) + " ms on rank " + std::to_string(me) + ": " +
                    (op->missing.empty() ? std::string("every rank called it, but it did not complete (a rank may have died after arriving, or the network stalled)")
                                         : "rank" + std::string(op->missing.size() > 1 ? "s " : " ") + who + " never called it");
        s->broken = true;
        anyTimedOutNow = true;
        settle(s, op);
      }
      i++;
    }
    (void)anyTimedOutNow;
    for (size_t i = 0; i < noteSends.size();) {
      int flag = 0;
      MPI_Test(&noteSends[i].req, &flag, MPI_STATUS_IGNORE);
      if (flag) {
        noteSends.erase(noteSends.begin() + static_cast<long>(i));
      } else {
        i++;
      }
    }
    if (!active.empty()) drainNotes();
    if (!active.empty() || !noteSends.empty()) {
      // Non-blocking collectives only advance inside MPI_Test, so poll in short bursts (large
      // transfers move one segment per test) and sleep between bursts, so a rank's progress
      // thread does not take a core from its compute thread while it waits.
      if (++spins % kBurst == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      spins = 0;
    }
  }

  // Finalize: no collective is in flight (the JS side checks). Every rank's last notes were sent
  // before its last collective completed, so a barrier then a drain leaves nothing unmatched.
  MPI_Barrier(noteComm);
  drainNotes();
  if (noteReq != MPI_REQUEST_NULL) {
    MPI_Cancel(&noteReq);
    MPI_Wait(&noteReq, MPI_STATUS_IGNORE);
  }
  for (auto& n : noteSends) MPI_Wait(&n.req, MPI_STATUS_IGNORE);
  MPI_Comm_free(&opsComm);
  MPI_Comm_free(&noteComm);
  MPI_Finalize();
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->threadExited = true;
  }
  s->doneCv.notify_all();
}

State& requireStarted(const Napi::Env& env) {
  if (!state || !state->started || state->finalized) {
    throw Napi::Error::New(env, "the MPI process group is not initialized (call initProcessGroup first)");
  }
  return *state;
}

// init(timeoutMs) -> { rank, size, threadLevel }
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state && state->finalized) throw Napi::Error::New(env, "MPI was finalized in this process; it cannot be initialized again");
  if (state && state->started) throw Napi::Error::New(env, "MPI is already initialized in this process");
  if (!state) state = new State();
  if (info.Length() > 0 && info[0].IsNumber()) state->timeoutMs = info[0].As<Napi::Number>().Int64Value();
  state->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "ghostflow-mpi", 0, 1);
  state->tsfn.Unref(env);
  state->started = true;
  state->thread = std::thread(progressMain, state);
  std::unique_lock<std::mutex> lock(state->mu);
  state->doneCv.wait(lock, [] { return state->initDone; });
  if (!state->initError.empty()) {
    std::string msg = state->initError;
    lock.unlock();
    state->thread.join();
    state->finalized = true;
    state->tsfn.Release();
    throw Napi::Error::New(env, msg);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", state->rank);
  out.Set("size", state->size);
  out.Set("threadLevel", state->threadLevel);
  return out;
}

Napi::Value SetTimeout(const Napi::CallbackInfo& info) {
  State& s = requireStarted(info.Env());
  s.timeoutMs = info[0].As<Napi::Number>().Int64Value();
  return info.Env().Undefined();
}

MPI_Datatype datatypeOf(const Napi::Env& env, const Napi::TypedArray& a) {
  switch (a.TypedArrayType()) {
    case napi_float32_array:
      return MPI_FLOAT;
    case napi_int32_array:
      return MPI_INT32_T;
    case napi_uint8_array:
      return MPI_UINT8_T;
    default:
      throw Napi::TypeError::New(env, "expected a Float32Array, Int32Array or Uint8Array");
  }
}

MPI_Op opOf(const Napi::Env& env, const std::string& name) {
  if (name == "sum") return MPI_SUM;
  if (name == "max") return MPI_MAX;
  if (name == "min") return MPI_MIN;
  if (name == "lor") return MPI_LOR;
  if (name == "land") return MPI_LAND;
  throw Napi::TypeError::New(env, "unknown reduce op '" + name + "' (expected sum, max, min, lor or land)");
}

void* dataOf(const Napi::TypedArray& a) {
  auto* base = static_cast<uint8_t*>(a.ArrayBuffer().Data());
  return base ? base + a.ByteOffset() : nullptr;
}

Napi::Value Submit(const Napi::CallbackInfo& info, Op* op) {
  Napi::Env env = info.Env();
  State& s = *state;
  if (s.broken) {
    op->ok = false;
    Napi::Promise p = op->deferred.Promise();
    Napi::Error err = Napi::Error::New(env, op->name + " refused: an earlier collective timed out, so the process group is broken (the job aborts at exit)");
    err.Set("collective", Napi::String::New(env, op->name));
    op->deferred.Reject(err.Value());
    delete op;
    return p;
  }
  Napi::Promise p = op->deferred.Promise();
  if (s.pending == 0) s.tsfn.Ref(env);
  s.pending++;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.queue.push_back(op);
  }
  s.cv.notify_one();
  return p;
}

// barrier(name)
Napi::Value Barrier(const Napi::CallbackInfo& info) {
  requireStarted(info.Env());
  Op* op = new Op(info.Env());
  op->kind = Kind::Barrier;
  op->name = info[0].As<Napi::String>().Utf8Value();
  return Submit(info, op);
}

// allReduce(name, array, op): in place
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireStarted(env);
  auto a = info[1].As<Napi::TypedArray>();
  Op* op = new Op(env);
  op->kind = Kind::AllReduce;
  op->name = info[0].As<Napi::String>().Utf8Value();
  op->dtype = datatypeOf(env, a);
  op->op = opOf(env, info[2].As<Napi::String>().Utf8Value());
  op->send = dataOf(a);
  op->count = static_cast<int>(a.ElementLength());
  op->keepSend = Napi::Persistent(a.As<Napi::Object>());
  return Submit(info, op);
}

// broadcast(name, array, root): in place
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireStarted(env);
  auto a = info[1].As<Napi::TypedArray>();
  Op* op = new Op(env);
  op->kind = Kind::Broadcast;
  op->name = info[0].As<Napi::String>().Utf8Value();
  op->dtype = datatypeOf(env, a);
  op->root = info[2].As<Napi::Number>().Int32Value();
  op->send = dataOf(a);
  op->count = static_cast<int>(a.ElementLength());
  op->keepSend = Napi::Persistent(a.As<Napi::Object>());
  return Submit(info, op);
}

// allGather(name, send, recv): recv holds size * send.length elements
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = requireStarted(env);
  auto a = info[1].As<Napi::TypedArray>();
  auto b = info[2].As<Napi::TypedArray>();
  if (a.TypedArrayType() != b.TypedArrayType() || b.ElementLength() != a.ElementLength() * static_cast<size_t>(s.size)) {
    throw Napi::TypeError::New(env, "allGather: the output must have the input's type and worldSize times its length");
  }
  Op* op = new Op(env);
  op->kind = Kind::AllGather;
  op->name = info[0].As<Napi::String>().Utf8Value();
  op->dtype = datatypeOf(env, a);
  op->send = dataOf(a);
  op->recv = dataOf(b);
  op->count = static_cast<int>(a.ElementLength());
  op->keepSend = Napi::Persistent(a.As<Napi::Object>());
  op->keepRecv = Napi::Persistent(b.As<Napi::Object>());
  return Submit(info, op);
}

// reduceScatter(name, send, recv, op): send holds size * recv.length elements
Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = requireStarted(env);
  auto a = info[1].As<Napi::TypedArray>();
  auto b = info[2].As<Napi::TypedArray>();
  if (a.TypedArrayType() != b.TypedArrayType() || a.ElementLength() != b.ElementLength() * static_cast<size_t>(s.size)) {
    throw Napi::TypeError::New(env, "reduceScatter: the input must have the output's type and worldSize times its length");
  }
  Op* op = new Op(env);
  op->kind = Kind::ReduceScatter;
  op->name = info[0].As<Napi::String>().Utf8Value();
  op->dtype = datatypeOf(env, a);
  op->op = opOf(env, info[3].As<Napi::String>().Utf8Value());
  op->send = dataOf(a);
  op->recv = dataOf(b);
  op->count = static_cast<int>(b.ElementLength());
  op->keepSend = Napi::Persistent(a.As<Napi::Object>());
  op->keepRecv = Napi::Persistent(b.As<Napi::Object>());
  return Submit(info, op);
}

// finalize(): blocks until MPI_Finalize returned on the progress thread.
Napi::Value Finalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = requireStarted(env);
  if (s.pending > 0) {
    throw Napi::Error::New(env, "destroyProcessGroup: " + std::to_string(s.pending) + " collective(s) still in flight; await them first");
  }
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.command = Command::Finalize;
  }
  s.cv.notify_one();
  s.thread.join();
  s.finalized = true;
  s.tsfn.Release();
  return env.Undefined();
}

// abort(code): MPI_Abort on the progress thread; takes down every rank of the job. Never returns.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State& s = requireStarted(env);
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.abortCode = code;
    s.command = Command::Abort;
  }
  s.cv.notify_one();
  std::this_thread::sleep_for(std::chrono::seconds(30));
  std::_Exit(code);
}

// status() -> { initialized, finalized, broken, pending }
Napi::Value Status(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("initialized", state != nullptr && state->started && !state->finalized);
  out.Set("finalized", state != nullptr && state->finalized);
  out.Set("broken", state != nullptr && state->broken.load());
  out.Set("pending", state ? state->pending : 0);
  return out;
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("setTimeout", Napi::Function::New(env, SetTimeout));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("allGather", Napi::Function::New(env, AllGather));
  exports.Set("reduceScatter", Napi::Function::New(env, ReduceScatter));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("status", Napi::Function::New(env, Status));
  return exports;
}

}  // namespace

NODE_API_MODULE(ghostflow_mpi, Module)

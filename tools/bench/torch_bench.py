#!/usr/bin/env python3
"""PyTorch side of tools/bench (driven by main.mjs, not meant to be run by hand).

Two modes:
  torch_bench.py serve THREADS      JSON-lines server on stdin/stdout: main.mjs sends one command per
                                    line and reads one JSON reply per line, so the PyTorch runs can be
                                    interleaved, round by round, with the JavaScript engines.
  torch_bench.py export DIR SPECS   writes ONNX models (torch.onnx.export) for onnxruntime-node;
                                    SPECS is a JSON list of workload specs; prints a JSON map id -> path.

Commands (serve): {"op": "setup", "spec": {...}}  -> {"ok": true, "rssDeltaBytes": n}
                  {"op": "run"}                   -> {"ms": t}    (one timed run, perf_counter)
                  {"op": "teardown"}              -> {"ok": true}
                  {"op": "quit"}
The workloads mirror main.mjs: same shapes, same loss (MSE against a fixed random target),
Adam(lr=1e-3), dropout 0.
"""
import json
import os
import sys
import time


def rss_bytes():
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except OSError:
        return 0


def build(torch, spec):
    """Returns a zero-argument function that runs the workload once and returns when the result exists."""
    nn = torch.nn
    kind = spec['kind']
    torch.manual_seed(0)
    if kind == 'matmul':
        n = spec['n']
        a = torch.randn(n, n)
        b = torch.randn(n, n)

        def run():
            return torch.matmul(a, b)

        return run
    if kind == 'rnn':
        cls = nn.LSTM if spec['cell'] == 'lstm' else nn.GRU
        model = cls(spec['input'], spec['hidden'], num_layers=spec['layers'], batch_first=True,
                    bidirectional=spec.get('bidirectional', False))
        x = torch.randn(spec['batch'], spec['seq'], spec['input'])
        dirs = 2 if spec.get('bidirectional', False) else 1
        if spec['mode'] == 'forward':
            model.eval()

            def run():
                with torch.no_grad():
                    return model(x)[0]

            return run
        target = torch.randn(spec['batch'], spec['seq'], spec['hidden'] * dirs)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()

        def run():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(x)[0], target)
            loss.backward()
            opt.step()
            return loss.item()

        return run
    if kind == 'transformer':
        layer = nn.TransformerEncoderLayer(spec['dModel'], spec['nhead'], dim_feedforward=spec['ff'], dropout=0.0,
                                           batch_first=True)
        x = torch.randn(spec['batch'], spec['seq'], spec['dModel'])
        if spec['mode'] == 'forward':
            layer.eval()

            def run():
                with torch.no_grad():
                    return layer(x)

            return run
        target = torch.randn(spec['batch'], spec['seq'], spec['dModel'])
        opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
        layer.train()

        def run():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(layer(x), target)
            loss.backward()
            opt.step()
            return loss.item()

        return run
    if kind == 'wordlm':
        # pytorch/examples word_language_model: RNNModel('LSTM') and main.py's train() loop body.
        ntoken, emsize, nhid = spec['ntoken'], spec['emsize'], spec['nhid']
        bptt, batch, lr, clip = spec['bptt'], spec['batch'], spec['lr'], spec['clip']
        drop = nn.Dropout(spec['dropout'])
        encoder = nn.Embedding(ntoken, emsize)
        rnn = nn.LSTM(emsize, nhid, spec['layers'], dropout=spec['dropout'])
        decoder = nn.Linear(nhid, ntoken)
        params = [*encoder.parameters(), *rnn.parameters(), *decoder.parameters()]
        segments = 8
        data = torch.randint(0, ntoken, (segments * bptt + 1, batch))
        state = {'hidden': None, 'pos': 0}

        def run():
            i = state['pos']
            state['pos'] = (i + bptt) % (segments * bptt)
            inp, targets = data[i:i + bptt], data[i + 1:i + 1 + bptt].reshape(-1)
            hidden = state['hidden']
            if hidden is not None:
                hidden = tuple(h.detach() for h in hidden)
            for p in params:
                p.grad = None
            emb = drop(encoder(inp))
            output, hidden = rnn(emb, hidden)
            decoded = decoder(drop(output)).view(-1, ntoken)
            loss = nn.functional.nll_loss(nn.functional.log_softmax(decoded, dim=1), targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, clip)
            for p in params:
                p.data.add_(p.grad, alpha=-lr)
            state['hidden'] = hidden
            return loss.item()

        return run
    if kind == 'adam':
        model = nn.LSTM(spec['input'], spec['hidden'], num_layers=spec['layers'])
        params = list(model.parameters())
        for p in params:
            p.grad = torch.randn_like(p)
        opt = torch.optim.Adam(params, lr=1e-3)

        def run():
            opt.step()
            return params[0][0, 0].item()

        return run
    if kind == 'decode':
        model = nn.GRU(spec['input'], spec['hidden'], num_layers=spec['layers'])
        model.eval()
        x = torch.randn(1, 1, spec['input'])

        def run():
            with torch.no_grad():
                h = None
                for _ in range(spec['steps']):
                    h = model(x, h)[1]
                return h

        return run
    raise ValueError(f'unknown workload kind {kind!r}')


def blas_library():
    """The BLAS shared library this process has mapped (after a matmul), resolved through symlinks."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line.lower() and line.split()[-1].startswith('/')}
        return ', '.join(sorted(os.path.realpath(x) for x in libs)) or 'none mapped'
    except OSError:
        return 'unknown'


def serve(threads):
    import torch
    torch.set_num_threads(threads)
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))  # loads the BLAS, so its library shows in the maps
    out = sys.stdout
    out.write(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                          'blas': blas_library(), 'ompWaitPolicy': os.environ.get('OMP_WAIT_POLICY', '')}) + '\n')
    out.flush()
    fn = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        op = msg['op']
        try:
            if op == 'setup':
                fn = None
                before = rss_bytes()
                fn = build(torch, msg['spec'])
                # At least `warmup` runs and `warmupMs` of them (main.mjs's warm-up rule).
                runs, w0 = 0, time.perf_counter()
                while runs < int(msg.get('warmup', 1)) or (
                    (time.perf_counter() - w0) * 1000.0 < float(msg.get('warmupMs', 0))
                    and runs < int(msg.get('warmupMaxRuns', 200))
                ):
                    fn()
                    runs += 1
                reply = {'ok': True, 'rssDeltaBytes': rss_bytes() - before}
            elif op == 'run':
                t0 = time.perf_counter()
                fn()
                reply = {'ms': (time.perf_counter() - t0) * 1000.0}
            elif op == 'teardown':
                fn = None
                reply = {'ok': True}
            elif op == 'quit':
                break
            else:
                reply = {'error': f'unknown op {op}'}
        except Exception as e:  # report, keep serving
            reply = {'error': f'{type(e).__name__}: {e}'}
        out.write(json.dumps(reply) + '\n')
        out.flush()


def export(directory, specs):
    import torch
    nn = torch.nn
    os.makedirs(directory, exist_ok=True)
    torch.manual_seed(0)
    paths = {}
    for spec in specs:
        path = os.path.join(directory, spec['onnxName'] + '.onnx')
        if os.path.exists(path):
            paths[spec['id']] = path
            continue
        kind = spec['kind']
        if kind == 'matmul':
            class MM(nn.Module):
                def forward(self, a, b):
                    return torch.matmul(a, b)

            n = spec['n']
            model, args, names = MM(), (torch.randn(n, n), torch.randn(n, n)), ['a', 'b']
        elif kind == 'rnn':
            cls = nn.LSTM if spec['cell'] == 'lstm' else nn.GRU

            class R(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.rnn = cls(spec['input'], spec['hidden'], num_layers=spec['layers'], batch_first=True,
                                   bidirectional=spec.get('bidirectional', False))

                def forward(self, x):
                    return self.rnn(x)[0]

            model, args, names = R(), (torch.randn(spec['batch'], spec['seq'], spec['input']),), ['x']
        elif kind == 'transformer':
            model = nn.TransformerEncoderLayer(spec['dModel'], spec['nhead'], dim_feedforward=spec['ff'],
                                               dropout=0.0, batch_first=True)
            args, names = (torch.randn(spec['batch'], spec['seq'], spec['dModel']),), ['x']
        else:
            raise ValueError(kind)
        model.eval()
        tmp = path + '.tmp'
        # Grad mode stays on: under no_grad, torch 1.13 routes an eval TransformerEncoderLayer through its
        # fused fast path (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
        torch.onnx.export(model, args, tmp, input_names=names, output_names=['y'], opset_version=14)
        os.replace(tmp, path)
        paths[spec['id']] = path
    print(json.dumps(paths))


if __name__ == '__main__':
    if sys.argv[1] == 'serve':
        serve(int(sys.argv[2]))
    elif sys.argv[1] == 'export':
        export(sys.argv[2], json.loads(sys.argv[3]))
    else:
        sys.exit('usage: torch_bench.py serve THREADS | export DIR SPECS_JSON')

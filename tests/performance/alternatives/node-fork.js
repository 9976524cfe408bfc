// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2026 The gipc-glib authors
//
// Node's child_process.fork() IPC next to gipc-glib: 64 B one-way and 8 B
// round trip. Messages are 64- and 8-character strings (default JSON
// serialization) that start with their sequence number, which the receiver
// checks. The sender sends batches of 256, the last one with a callback that
// sends the next batch (two batches in flight), as gipc-bench does.
//
// Prints one line per measure: RESULT <key> <value> <unit>.
'use strict';
const { fork } = require('child_process');

function message (seq, size) {
  const s = seq.toString(16);
  return s + '.'.repeat(size - s.length);
}

if (process.argv[2] === 'child') {
  const mode = process.argv[3];
  const size = Number(process.argv[4]);
  let count = 0;
  process.on('message', (m) => {
    if (mode === 'echo') {
      process.send(m);
      if (m === '')
        process.disconnect();
      return;
    }
    if (m === '') {
      process.send({ count, ok: true }, () => process.disconnect());
      return;
    }
    if (m.length !== size || parseInt(m, 16) !== count) {
      process.send({ count, ok: false }, () => process.disconnect());
      return;
    }
    count++;
  });
  process.send('ready');
} else {
  const args = process.argv.slice(2);
  let duration = 0.9, repeat = 3;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--duration') duration = Number(args[++i]);
    else if (args[i] === '--repeat') repeat = Number(args[++i]);
  }
  const d = duration / repeat;

  const start = (mode, size) => new Promise((resolve) => {
    const child = fork(__filename, ['child', mode, String(size)]);
    child.once('message', () => resolve(child));
  });

  const oneway = async (size) => {
    const child = await start('recv', size);
    return new Promise((resolve, reject) => {
      let seq = 0, stopping = false;
      const t0 = process.hrtime.bigint();
      const deadline = t0 + BigInt(Math.round(d * 1e9));
      child.once('message', (r) => {
        const t1 = process.hrtime.bigint();
        child.on('exit', () => {
          if (!r.ok || r.count !== seq)
            reject(new Error(`node one-way: sent ${seq}, child got ${r.count} ok=${r.ok}`));
          else
            resolve(seq / (Number(t1 - t0) / 1e9));
        });
      });
      const batch = () => {
        for (let i = 0; i < 256; i++) {
          const m = message(seq++, size);
          if (i === 255)
            child.send(m, done);
          else
            child.send(m);
        }
      };
      const done = () => {
        if (stopping) return;
        if (process.hrtime.bigint() >= deadline) {
          stopping = true;
          child.send('');
          return;
        }
        batch();
      };
      batch();
      batch();
    });
  };

  const rtt = async () => {
    const child = await start('echo', 8);
    return new Promise((resolve, reject) => {
      let seq = 0, tLast = 0n;
      const t0 = process.hrtime.bigint();
      const deadline = t0 + BigInt(Math.round(d * 1e9));
      child.on('message', (m) => {
        if (m === '') {
          child.on('exit', () => resolve(Number(tLast - t0) / 1e3 / seq));
          return;
        }
        if (m !== message(seq, 8)) {
          reject(new Error(`node rtt: bad pong ${seq}`));
          return;
        }
        seq++;
        if ((seq & 31) === 0 && (tLast = process.hrtime.bigint()) >= deadline)
          child.send('');
        else
          child.send(message(seq, 8));
      });
      child.send(message(0, 8));
    });
  };

  (async () => {
    let best = 0, bestRtt = Infinity;
    for (let i = 0; i < repeat; i++)
      best = Math.max(best, await oneway(64));
    for (let i = 0; i < repeat; i++)
      bestRtt = Math.min(bestRtt, await rtt());
    console.log(`RESULT oneway-64 ${best.toFixed(0)} msgs/s`);
    console.log(`RESULT rtt-8 ${bestRtt.toFixed(2)} us`);
  })().catch((e) => { console.error(e.message); process.exit(1); });
}

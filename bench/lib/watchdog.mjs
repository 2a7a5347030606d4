// A hang guard for benchmarks of native code under development: a worker
// thread that ends the process if the runner reports no progress for
// `seconds`. A timer on the main thread cannot do this, because a deadlocked
// native call blocks the main thread's event loop; the worker's loop runs on.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { writeSync } from 'node:fs';

export function startWatchdog(seconds) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { seconds }, execArgv: [] });
  worker.unref();
  return {
    progress: (what) => worker.postMessage(String(what)),
    stop: () => worker.terminate(),
  };
}

if (!isMainThread && workerData?.seconds) {
  let last = Date.now(), what = 'start';
  parentPort.on('message', (m) => {
    last = Date.now();
    what = m;
  });
  setInterval(() => {
    if (Date.now() - last > workerData.seconds * 1000) {
      writeSync(2, `\nbench: no progress for ${workerData.seconds} s during "${what}" (a hang in native code?); ending the run\n`);
      process.kill(process.pid, 'SIGTERM');
    }
  }, 250);
}

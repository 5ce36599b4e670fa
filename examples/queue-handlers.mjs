// The handlers of the queue demo (examples/queue-demo.mjs), served by `taskpool worker`.
// `render` stands for real work: it takes 100–300 ms and says which process did it.
export const handlers = {
  render: (frame, { signal, attempt }) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 100 + ((frame * 37) % 200), { frame, pid: process.pid, attempt });
      signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
    }),
};

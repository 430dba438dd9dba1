// The raw argon2id verify rate of the npm argon2 package (the peer's), sequential, for bench/run.py:
//   node argon2-rate.js TIME_COST MEMORY_KIB PARALLELISM SECONDS   -> JSON on stdout
import argon2 from 'argon2';

const [timeCost, memoryCost, parallelism, seconds] = process.argv.slice(2).map(Number);
const password = 'bench correct horse battery staple';
const digest = await argon2.hash(password, {
  type: argon2.argon2id,
  timeCost,
  memoryCost,
  parallelism,
});
const ms = [];
const began = performance.now();
while (performance.now() - began < seconds * 1000 || ms.length < 3) {
  const start = performance.now();
  if (!(await argon2.verify(digest, password))) throw new Error('verify failed');
  ms.push(performance.now() - start);
}
console.log(JSON.stringify({ verifies: ms.length, seconds: (performance.now() - began) / 1000, ms }));

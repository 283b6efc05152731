// Host built-ins against OPA itself: crypto.sha256, crypto.md5, crypto.sha1, crypto.hmac.sha256.
// Expected values and errors are what OPA answers for the same arguments (how they were taken: ./table.ts).
import { describe } from 'vitest'
import { type Cases, checkAgainstOpa, fails } from './table.ts'

const CASES: Cases = {
  'crypto.sha256': [
    [[''], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [['abc'], 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [['hello world'], 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'],
    [['héllo ☃ 😀'], '580dcda131c1ca42e4a009e621dcdd5aafa91f571b0288e77d67bbbf39c86f55'],
    [['a'.repeat(1000)], '41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3'],
    [[1], fails('crypto.sha256: operand 1 must be string but got number')],
  ],
  'crypto.md5': [
    [[''], 'd41d8cd98f00b204e9800998ecf8427e'],
    [['abc'], '900150983cd24fb0d6963f7d28e17f72'],
    [['hello world'], '5eb63bbbe01eeed093cb22bb8f5acdc3'],
    [['héllo ☃ 😀'], '44314d05b09b74dafda26d5273d91a17'],
    [['a'.repeat(1000)], 'cabe45dcc9ae5b66ba86600cca6b8ba8'],
  ],
  'crypto.sha1': [
    [[''], 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    [['abc'], 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    [['hello world'], '2aae6c35c94fcfb415dbe95f408b9ce91ee846ed'],
    [['héllo ☃ 😀'], 'a36431196ce8ed709939b7cf3a288727182e1f39'],
    [['a'.repeat(1000)], '291e9a6c66994949b57ba5e650361e98fc36b1ba'],
  ],
  'crypto.hmac.sha256': [
    [['message', 'key'], '6e9ef29b75fffc5b7abae527d58fdadb2fe42e7219011976917343065f58ed4a'],
    [['', ''], 'b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad'],
    [['héllo', 'k'.repeat(100)], '3fb2eaa48b8da5ef796dbf6b4b098a74c6670259cefcd21484e64c7120374fe2'],
    [['m', 1], fails('crypto.hmac.sha256: operand 2 must be string but got number')],
  ],
}

describe('crypto built-ins, against OPA', () => checkAgainstOpa(CASES, ['crypto.']))

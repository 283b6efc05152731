// Host built-ins against OPA itself: urlquery.* and hex.*.
// Expected values and errors are what OPA answers for the same arguments (how they were taken: ./table.ts).
import { describe } from 'vitest'
import { type Cases, checkAgainstOpa, fails } from './table.ts'

const CASES: Cases = {
  'urlquery.encode': [
    [[''], ''],
    [['a b'], 'a+b'],
    [['a+b'], 'a%2Bb'],
    [['a&b=c/d?e#f'], 'a%26b%3Dc%2Fd%3Fe%23f'],
    [["!*'()~-_."], '%21%2A%27%28%29~-_.'],
    [['héllo ☃ 😀'], 'h%C3%A9llo+%E2%98%83+%F0%9F%98%80'],
    [['%'], '%25'],
    [['100%'], '100%25'],
    [['\n\t'], '%0A%09'],
  ],
  'urlquery.decode': [
    [[''], ''],
    [['a+b'], 'a b'],
    [['a%20b'], 'a b'],
    [['%E2%98%83'], '☃'],
    [['%e2%98%83'], '☃'],
    [['%'], fails('urlquery.decode: invalid URL escape "%"')],
    [['%zz'], fails('urlquery.decode: invalid URL escape "%zz"')],
    [['a%2'], fails('urlquery.decode: invalid URL escape "%2"')],
    [['%ff'], '\ufffd'],
    [['caf%C3%A9+%2B'], 'café +'],
    [['100%'], fails('urlquery.decode: invalid URL escape "%"')],
  ],
  'urlquery.encode_object': [
    [[{ a: 'b', c: ['d', 'e'], 'sp ace': 'x y', z: [] }], 'a=b&c=d&c=e&sp+ace=x+y'],
    [[{}], ''],
    [[{ b: '2', a: '1', B: '3', é: '4', _: '5' }], 'B=3&_=5&a=1&b=2&%C3%A9=4'],
    [[{ a: 1 }], fails('urlquery.encode_object: operand 1 values must be string, array[string], or set[string]')],
    [[{ a: [1] }], fails('urlquery.encode_object: operand 1 values must be string, array[string], or set[string]')],
    [['x'], fails('urlquery.encode_object: operand 1 must be object but got string')],
  ],
  'urlquery.decode_object': [
    [[''], {}],
    [['a=b'], { a: ['b'] }],
    [['a=b&a=c&d'], { a: ['b', 'c'], d: [''] }],
    [['a=b&&c=d&'], { a: ['b'], c: ['d'] }],
    [['a=1;b=2'], fails('urlquery.decode_object: invalid semicolon separator in query')],
    [['a=%zz&b=1'], fails('urlquery.decode_object: invalid URL escape "%zz"')],
    [['x=%E2%98%83+y'], { x: ['☃ y'] }],
    [['=v'], { '': ['v'] }],
    [['k='], { k: [''] }],
    [['a=b=c'], { a: ['b=c'] }],
    [['__proto__=1'], { ['__proto__']: ['1'] }],
    [['a%2Bb=c%26d'], { 'a+b': ['c&d'] }],
  ],
  'hex.encode': [
    [[''], ''],
    [['abc'], '616263'],
    [['héllo ☃'], '68c3a96c6c6f20e29883'],
    [['\u0000ÿ'], '00c3bf'],
    [[1], fails('hex.encode: operand 1 must be string but got number')],
  ],
  'hex.decode': [
    [[''], ''],
    [['616263'], 'abc'],
    [['616'], fails('hex.decode: encoding/hex: odd length hex string')],
    [['ABCDEF'], '\ufffd\ufffd\ufffd'],
    [['zz'], fails("hex.decode: encoding/hex: invalid byte: U+007A 'z'")],
    [['61z'], fails("hex.decode: encoding/hex: invalid byte: U+007A 'z'")],
    [['e298'], '\ufffd\ufffd'],
    [['e29883'], '☃'],
    [['ff'], '\ufffd'],
    [['00'], '\u0000'],
    [['6'], fails('hex.decode: encoding/hex: odd length hex string')],
    [['ü'], fails("hex.decode: encoding/hex: invalid byte: U+00C3 'Ã'")],
  ],
}

describe('encoding built-ins, against OPA', () => checkAgainstOpa(CASES, ['urlquery.', 'hex.']))

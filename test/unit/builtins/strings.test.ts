// Host built-ins against OPA itself: strings.any_prefix_match and strings.any_suffix_match.
// Expected values and errors are what OPA answers for the same arguments (how they were taken: ./table.ts).
import { describe } from 'vitest'
import { type Cases, checkAgainstOpa, fails } from './table.ts'

const CASES: Cases = {
  'strings.any_prefix_match': [
    [['foobar', 'foo'], true],
    [['foobar', 'bar'], false],
    [
      [
        ['a', 'foobar'],
        ['x', 'foo'],
      ],
      true,
    ],
    [
      [
        ['a', 'b'],
        ['x', 'y'],
      ],
      false,
    ],
    [['foobar', []], false],
    [[[], 'a'], false],
    [['foobar', ''], true],
    [[1, 'a'], fails('strings.any_prefix_match: operand 1 must be one of {string, set, array} but got number')],
    [['a', 1], fails('strings.any_prefix_match: operand 2 must be one of {string, set, array} but got number')],
    [
      [['a', 1], ['a']],
      fails('strings.any_prefix_match: operand 1 must be array of strings but got array containing number'),
    ],
  ],
  'strings.any_suffix_match': [
    [['foobar', 'bar'], true],
    [['foobar', 'foo'], false],
    [
      [
        ['api.example.com', 'x'],
        ['.example.com', '.test'],
      ],
      true,
    ],
    [
      [
        ['a', 'b'],
        ['x', 'y'],
      ],
      false,
    ],
    [
      ['a', [null]],
      fails('strings.any_suffix_match: operand 2 must be array of strings but got array containing null'),
    ],
  ],
}

describe('strings built-ins, against OPA', () => checkAgainstOpa(CASES, ['strings.']))

import { strict as assert } from 'node:assert';
import { lex, matchBraces, U64_MAX } from '../../src/lang/lexer';
import type { Token } from '../../src/lang/tokens';

/** Tokens without the trailing eof, as [kind, text] pairs. */
function kinds(src: string): [string, string][] {
  return lex(src).tokens.filter((t) => t.kind !== 'eof').map((t) => [t.kind, t.text]);
}

function num(src: string): bigint | undefined {
  const { tokens, diagnostics } = lex(src);
  assert.deepEqual(diagnostics, [], `diagnostics for ${src}`);
  assert.equal(tokens[0]!.kind, 'number');
  return tokens[0]!.value;
}

describe('lang lexer', () => {
  describe('integers', () => {
    it('reads decimal, hex and binary with _ separators, exactly', () => {
      assert.equal(num('0x8_0000_0000'), 34359738368n);
      assert.equal(num('4096'), 4096n);
      assert.equal(num('0b1010_1010'), 0xaan);
      assert.equal(num('0XFFFF_ffff'), 0xffffffffn);
      assert.equal(num('0x7f00_0000_0000'), 0x7f0000000000n);
      assert.equal(num('0xffff_ffff_ffff_ffff'), U64_MAX);
      assert.equal(num('18446744073709551615'), U64_MAX);
      assert.equal(num('9007199254740993'), 9007199254740993n); // 2^53 + 1: no precision lost
      assert.equal(num('010'), 10n); // decimal, not octal
    });

    it('applies binary size suffixes K M G T', () => {
      assert.equal(num('16K'), 16384n);
      assert.equal(num('64M'), 64n << 20n);
      assert.equal(num('1G'), 1n << 30n);
      assert.equal(num('2T'), 2n << 40n);
      assert.equal(num('0x10K'), 0x4000n);
      assert.equal(num('256K'), 0x40000n);
    });

    it('lexes 1G + 128M as an expression of three tokens', () => {
      const { tokens } = lex('1G + 128M');
      assert.deepEqual(tokens.map((t) => t.kind), ['number', '+', 'number', 'eof']);
      assert.equal(tokens[0]!.value, 1n << 30n);
      assert.equal(tokens[2]!.value, 128n << 20n);
    });

    it('reports numbers above 2^64-1 as out-of-range, even huge ones, quickly', () => {
      for (const src of ['18446744073709551616', '0x1_0000_0000_0000_0000', '16777216T', '9'.repeat(100000)]) {
        const { tokens, diagnostics } = lex(src);
        assert.equal(diagnostics.length, 1, src.slice(0, 30));
        assert.equal(diagnostics[0]!.code, 'out-of-range');
        assert.match(diagnostics[0]!.message, /does not fit in 64 bits/);
        assert.equal(tokens[0]!.kind, 'number');
      }
    });

    it('reports bad digits and lower-case suffixes at the offending character', () => {
      const bad = lex('x = 16k');
      assert.equal(bad.diagnostics.length, 1);
      assert.equal(bad.diagnostics[0]!.column, 7);
      assert.match(bad.diagnostics[0]!.message, /size suffixes are K M G T/);
      const hex = lex('0x12g4');
      assert.equal(hex.diagnostics[0]!.column, 5);
      assert.match(hex.diagnostics[0]!.message, /invalid hex digit 'g'/);
      assert.match(lex('0b102').diagnostics[0]!.message, /invalid binary digit '2'/);
      assert.match(lex('0x').diagnostics[0]!.message, /no digits/);
    });
  });

  describe('strings and bytes', () => {
    it('decodes C escapes into text and bytes', () => {
      const t = lex('"a\\x41\\101\\n\\t\\\\\\"\\0"').tokens[0]!;
      assert.equal(t.kind, 'string');
      assert.equal(t.str, 'aAA\n\t\\"\0');
      assert.deepEqual([...t.bytes!], [97, 65, 65, 10, 9, 92, 34, 0]);
    });

    it('keeps \\xff as one byte and encodes other characters as UTF-8', () => {
      const t = lex('"\\xffé"').tokens[0]!;
      assert.deepEqual([...t.bytes!], [0xff, 0xc3, 0xa9]);
    });

    it('reads hex byte strings with blanks between bytes', () => {
      const t = lex('hex"de ad be ef"').tokens[0]!;
      assert.equal(t.kind, 'bytes');
      assert.deepEqual([...t.bytes!], [0xde, 0xad, 0xbe, 0xef]);
      assert.deepEqual([...lex('hex""').tokens[0]!.bytes!], []);
    });

    it('reports bad byte strings', () => {
      assert.match(lex('hex"abc"').diagnostics[0]!.message, /odd number of hex digits/);
      assert.match(lex('hex"zz"').diagnostics[0]!.message, /not a hex digit/);
      assert.match(lex('hex"a b"').diagnostics[0]!.message, /two adjacent hex digits/);
    });

    it('ends an unterminated string at the line end and goes on', () => {
      const { tokens, diagnostics } = lex('x = "abc\ny = 1');
      assert.equal(diagnostics.length, 1);
      assert.match(diagnostics[0]!.message, /unterminated string/);
      assert.deepEqual(diagnostics[0]!.line, 1);
      assert.deepEqual(tokens.map((t) => t.kind), ['ident', '=', 'string', 'newline', 'ident', '=', 'number', 'eof']);
      assert.equal(tokens[2]!.str, 'abc');
    });

    it('reports unknown escapes', () => {
      assert.match(lex('"\\q"').diagnostics[0]!.message, /unknown escape/);
    });
  });

  describe('operators, comments and lines', () => {
    it('reads every operator, two-character ones first', () => {
      const ops = '+ - * / % & | ^ ~ ! << >> == != < <= > >= && || = ( ) [ ] { } , ; : . .. ->';
      assert.deepEqual(kinds(ops).map(([k]) => k), ops.split(' '));
    });

    it('splits 0..16 into number, range, number', () => {
      assert.deepEqual(kinds('0..16'), [['number', '0'], ['..', '..'], ['number', '16']]);
    });

    it('skips # and // comments but keeps division', () => {
      assert.deepEqual(kinds('a / b # c\nd // e'), [['ident', 'a'], ['/', '/'], ['ident', 'b'], ['newline', ''], ['ident', 'd']]);
    });

    it('collapses blank lines and comment lines into one newline', () => {
      assert.deepEqual(kinds('\n\na\n\n# x\n\nb\n').map(([k]) => k), ['ident', 'newline', 'ident', 'newline']);
    });

    it('joins lines ending in a backslash', () => {
      const { tokens, diagnostics } = lex('a = 1 + \\\n  2\nb');
      assert.deepEqual(diagnostics, []);
      assert.deepEqual(tokens.map((t) => t.kind), ['ident', '=', 'number', '+', 'number', 'newline', 'ident', 'eof']);
      assert.equal(tokens[4]!.line, 2);
      assert.equal(tokens[4]!.firstOnLine, false);
    });

    it('reports a backslash that is not at the end of a line', () => {
      const { diagnostics } = lex('a \\ b');
      assert.equal(diagnostics.length, 1);
      assert.equal(diagnostics[0]!.column, 3);
    });

    it('gives exact 1-based lines and columns, with CRLF and CR line ends', () => {
      const { tokens } = lex('ab = 0x10\r\n  cd\rx');
      const at = (t: Token): string => `${t.kind}@${t.line}:${t.column}`;
      assert.deepEqual(tokens.map(at), ['ident@1:1', '=@1:4', 'number@1:6', 'newline@1:10', 'ident@2:3', 'newline@2:5', 'ident@3:1', 'eof@3:2']);
      assert.equal(tokens[4]!.firstOnLine, true);
    });

    it('treats hex followed by a space as a plain identifier', () => {
      assert.deepEqual(kinds('hex "ab"').map(([k]) => k), ['ident', 'string']);
    });
  });

  describe('garbage', () => {
    it('reports a run of bad characters once, with its range', () => {
      const { tokens, diagnostics } = lex('a = @@@ 1');
      assert.equal(diagnostics.length, 1);
      assert.deepEqual([diagnostics[0]!.column, diagnostics[0]!.endColumn], [5, 8]);
      assert.match(diagnostics[0]!.message, /unexpected character '@' \(and 2 more\)/);
      assert.deepEqual(tokens.map((t) => t.kind), ['ident', '=', 'invalid', 'number', 'eof']);
    });

    it('names NUL bytes and non-ASCII characters', () => {
      assert.match(lex('\0').diagnostics[0]!.message, /NUL byte/);
      assert.match(lex('µ').diagnostics[0]!.message, /U\+00B5/);
    });

    it('caps the number of diagnostics', () => {
      const { diagnostics } = lex('@ a '.repeat(5000));
      assert.equal(diagnostics.length, 201);
      assert.equal(diagnostics[200]!.code, 'too-many-errors');
    });
  });

  describe('matchBraces', () => {
    it('pairs braces, ignoring those in strings and comments', () => {
      const src = 'a { "}" # }\n { } }';
      const pairs = matchBraces(src);
      assert.equal(pairs.get(2), src.length - 1);
      assert.equal(pairs.get(src.indexOf('{ }', 3)), src.indexOf('{ }', 3) + 2);
      assert.equal(matchBraces('{ {').size, 0);
    });
  });
});

import { describe, expect, it } from '@jest/globals'
import {
  lineColumn,
  splitAndTrim,
  splitStatements
} from '../../src/actions/db-migrate/engine/split.js'

/**
 * Expected values are the output of the Supabase CLI 2.117.0's own splitter
 * for the same input (quirks included). The end-to-end comparison against
 * `supabase db push` is in cli-compat.test.ts.
 */
describe('splitAndTrim matches the Supabase CLI', () => {
  const cases: [string, string[]][] = [
    [
      'create table a (id int);\ninsert into a values (1);\n',
      ['create table a (id int)', 'insert into a values (1)']
    ],
    [
      "select 'a;b', \"x;y\" from t; select 'it''s; fine';",
      ['select \'a;b\', "x;y" from t', "select 'it''s; fine'"]
    ],
    ["select E'\\\\'; select 2;", ["select E'\\\\'", 'select 2']],
    ["select E'it\\'s; x'; select 2;", ["select E'it\\'s", "x'; select 2"]],
    [
      'select 1; -- comment; still comment\nselect 2;',
      ['select 1', '-- comment; still comment\nselect 2']
    ],
    ['select 1;\n-- trailing comment only\n', ['select 1', '-- trailing comment only']],
    [
      '/* outer /* inner; */ still; */ select 1; select 2',
      ['/* outer /* inner; */ still; */ select 1', 'select 2']
    ],
    ['/*/ select 1; */ select 2;', ['/*/ select 1', '*/ select 2']],
    [
      "create function f() returns text as $$ select 'a;b'; $$ language sql; select 1;",
      ["create function f() returns text as $$ select 'a;b'; $$ language sql", 'select 1']
    ],
    [
      'do $body$ begin perform 1; end $body$; select 2;',
      ['do $body$ begin perform 1; end $body$', 'select 2']
    ],
    ['select $1; select 2;', ['select $1', 'select 2']],
    ['select \\; select 2;', ['select \\; select 2']],
    [
      'create function f() returns int language sql begin atomic select 1; select 2; end; select 3;',
      [
        'create function f() returns int language sql begin atomic select 1; select 2; end',
        'select 3'
      ]
    ],
    [
      'create function f() returns int language sql BEGIN\n\tATOMIC select 1; END; select 3;',
      ['create function f() returns int language sql BEGIN\n\tATOMIC select 1; END', 'select 3']
    ],
    [
      'create function f() returns int language sql begin atomic select append_x(); select 2; end; select 3;',
      [
        'create function f() returns int language sql begin atomic select append_x()',
        'select 2',
        'end',
        'select 3'
      ]
    ],
    ['select atomic; select 2;', ['select atomic', 'select 2']],
    ['select ((1) ; 2); select 3;', ['select ((1)', '2)', 'select 3']],
    ['select (1; 2); select 3;', ['select (1; 2)', 'select 3']],
    ['select 1;;; select 2 ;  ;', ['select 1', 'select 2']],
    ['  \n  ;  \n', []],
    ["select '$$'; select 2;", ["select '$$'", 'select 2']],
    ['select 1 -- c;\n; select 2', ['select 1 -- c;', 'select 2']],
    ['select $a$ x $b$ ; $a$; select 2;', ['select $a$ x $b$ ; $a$', 'select 2']],
    ['select 1 /* unterminated; select 2;', ['select 1 /* unterminated; select 2']]
  ]
  it.each(cases)('%j', (sql, expected) => {
    expect(splitAndTrim(sql)).toEqual(expected)
  })

  it('keeps CRLF and unicode inside statements and trims JS whitespace (incl. BOM)', () => {
    expect(splitAndTrim("\uFEFFselect 'é😀';\r\nselect 2;\r\n")).toEqual([
      "select 'é😀'",
      'select 2'
    ])
  })

  it('only closes a dollar quote on the same tag', () => {
    expect(splitAndTrim('select $fn$ $$; $x$ ; $fn$; select 2')).toEqual([
      'select $fn$ $$; $x$ ; $fn$',
      'select 2'
    ])
  })
})

describe('splitStatements', () => {
  it('reports where each trimmed statement starts in the file', () => {
    const sql = 'create table a(id int);\n\n  select\n 1;'
    const stmts = splitStatements(sql)
    expect(stmts.map(s => s.text)).toEqual(['create table a(id int)', 'select\n 1'])
    expect(sql.slice(stmts[1]?.offset)).toBe('select\n 1;')
    expect(lineColumn(sql, stmts[1]?.offset ?? 0)).toEqual({ line: 3, column: 3 })
  })

  it('counts columns in characters, not UTF-16 units', () => {
    expect(lineColumn('😀x', 2)).toEqual({ line: 1, column: 2 })
  })
})

import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import type { Db } from './schema.ts';

/** Stands for a value of a prepared statement while Kysely compiles it. */
class Slot {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
}

interface Compiled<Row> {
  query: CompiledQuery<Row>;
  /** For each parameter: the name of the value that fills it, or undefined for a constant. */
  names: (string | undefined)[];
}

/** Compiles `build` with a stand-in for each value, and checks that each one became a parameter. */
function compile<Row>(db: Db, build: (db: Db, values: never) => Compilable<Row>): Compiled<Row> {
  const read = new Set<string>();
  const stand = new Proxy({} as never, {
    get: (_target, name) => {
      read.add(String(name));
      return new Slot(String(name));
    },
  });
  const query = build(db, stand).compile();
  const names = query.parameters.map((value) => (value instanceof Slot ? value.name : undefined));
  for (const name of read) {
    if (!names.includes(name)) throw new Error(`Prepared statement: ${name} is not a parameter`);
  }
  return { query, names };
}

/**
 * A statement on the request path (SPEC P2), built and compiled by Kysely once per dialect
 * instead of on every call, then run with the call's values. `build` may use `values` only as
 * values of the statement, never in its own logic: it runs once, with stand-ins. A value left
 * out binds NULL. Transactions share the compiled statements of their database.
 */
export function prepared<Values extends object, Row>(
  build: (db: Db, values: Values) => Compilable<Row>,
): (db: Db, values: Values) => Promise<QueryResult<Row>> {
  const byAdapter = new WeakMap<object, Compiled<Row>>();
  return async (db, values) => {
    const adapter = db.getExecutor().adapter;
    let compiled = byAdapter.get(adapter);
    if (!compiled) {
      compiled = compile(db, build);
      byAdapter.set(adapter, compiled);
    }
    const { query, names } = compiled;
    const given = values as Record<string, unknown>;
    const parameters = query.parameters.map((constant, i) => {
      const name = names[i];
      return name === undefined ? constant : (given[name] ?? null);
    });
    return db.executeQuery({ ...query, parameters });
  };
}

/** The first row of a prepared statement's result, if any. */
export const firstRow = <Row>(result: QueryResult<Row>): Row | undefined => result.rows[0];

/** How many rows a prepared UPDATE or DELETE changed. */
export const changedRows = (result: QueryResult<unknown>): bigint => result.numAffectedRows ?? 0n;

import { Schema, ParseResult } from "effect"
const show = (i, d=0) => {
  const pad = " ".repeat(d*2)
  const tag = i._tag
  let extra = ""
  if (i.path !== undefined) extra += " path=" + JSON.stringify(i.path)
  if (i.kind) extra += " kind=" + i.kind
  if (i.ast) extra += " ast=" + i.ast._tag
  if ("actual" in i) extra += " actual=" + JSON.stringify(i.actual)?.slice(0,40)
  if (i.message !== undefined) extra += " msg=" + JSON.stringify(i.message)
  console.log(pad + tag + extra)
  if (i.issue) show(i.issue, d+1)
  if (i.issues) for (const j of (Array.isArray(i.issues) ? i.issues : [i.issues])) show(j, d+1)
}
const H = Schema.Union(
  Schema.Struct({ type: Schema.Literal("http"), port: Schema.Int }),
  Schema.Struct({ type: Schema.Literal("tcp"), port: Schema.Int }),
  Schema.Struct({ type: Schema.Literal("cmd"), command: Schema.NonEmptyArray(Schema.String) }))
const S = Schema.Struct({
  a: Schema.optionalWith(Schema.Int, {default: () => 1}),
  env: Schema.optional(Schema.Record({ key: Schema.String.pipe(Schema.pattern(/^[A-Z]+$/)), value: Schema.String })),
  h: Schema.optional(H),
  n: Schema.String,
  f: Schema.optional(Schema.String.pipe(Schema.filter(s => s.length > 2 || "too short"))),
}).pipe(Schema.filter(() => ({ path: ["n"], message: "xor" })))
for (const v of [{a: "x", env: {bad: "1", OK: 2}, h: {type: "htp"}, zz: 1, f: "a"}, {n: "x", h: {}}, {n: "x", h: {type: "cmd", command: []}}, {n: "x", h: {type: "http", port: "1"}}, {n:"x"}, [1], null])  {
  const r = Schema.decodeUnknownEither(S)(v, { errors: "all", onExcessProperty: "error" })
  console.log("----", JSON.stringify(v)); if (r._tag === "Left") show(r.left.issue); else console.log("ok")
}

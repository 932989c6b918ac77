// Read the published TypeScript declarations (.d.ts) of @anthropic-ai/sdk and print JSON Schema for the
// types asked for, so `conformance drift --sdk typescript` can compare them with the suite's profiles.
//
// No dependencies (not even `typescript`): the SDK's declarations are generated (Stainless) and use a small,
// regular subset of TypeScript: interfaces (with `extends`), type aliases, unions, intersections with `{}`,
// string/number/boolean literals, arrays, `Record`, index signatures, inline object types, namespaces and
// ES imports/re-exports. Anything else becomes `{}` (any type), which drift never reports as a difference.
//
// stdin:  {"package": "<dir of @anthropic-ai/sdk>", "roots": {"<shape>": ["<file.d.ts>", "<Type>"], ...}}
// stdout: {"version": "...", "schemas": {"<shape>": {"$ref": ..., "$defs": {...}}}, "missing": {"<shape>": "why"}}
//
// A member whose doc comment starts with "Header param:" or "Query param:" is where the SDK puts that
// parameter (not in the JSON body); it is listed in the object's "x-param-location".

import fs from "node:fs";
import path from "node:path";

// -- tokenizer ----------------------------------------------------------------------------------------------

function tokenize(src) {
  const out = [];
  let i = 0;
  let doc = null;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") { i++; continue; }
    if (src.startsWith("/**", i)) {
      const end = src.indexOf("*/", i + 3);
      doc = src.slice(i + 3, end < 0 ? n : end);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (src.startsWith("/*", i)) { const end = src.indexOf("*/", i + 2); i = end < 0 ? n : end + 2; continue; }
    if (src.startsWith("//", i)) { const end = src.indexOf("\n", i); i = end < 0 ? n : end + 1; continue; }
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      let value = "";
      while (j < n && src[j] !== c) {
        if (src[j] === "\\") { value += src[j + 1]; j += 2; } else { value += src[j]; j++; }
      }
      out.push({ kind: "str", value, doc });
      doc = null;
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_$#]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(src[j])) j++;
      out.push({ kind: "id", value: src.slice(i, j), doc });
      doc = null;
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] || ""))) {
      let j = i + 1;
      while (j < n && /[0-9._eE]/.test(src[j])) j++;
      out.push({ kind: "num", value: Number(src.slice(i, j)), doc });
      doc = null;
      i = j;
      continue;
    }
    if (src.startsWith("=>", i) || src.startsWith("...", i)) {
      const v = src.startsWith("=>", i) ? "=>" : "...";
      out.push({ kind: "p", value: v, doc });
      doc = null;
      i += v.length;
      continue;
    }
    out.push({ kind: "p", value: c, doc });
    doc = null;
    i++;
  }
  out.push({ kind: "eof", value: null, doc: null });
  return out;
}

// -- parser -------------------------------------------------------------------------------------------------

class Parser {
  constructor(tokens) { this.t = tokens; this.i = 0; }
  peek(k = 0) { return this.t[Math.min(this.i + k, this.t.length - 1)]; }
  next() { return this.t[this.i++]; }
  is(value) { const t = this.peek(); return (t.kind === "p" || t.kind === "id") && t.value === value; }
  eat(value) { if (this.is(value)) { this.i++; return true; } return false; }
  expect(value) {
    if (!this.eat(value)) throw new Error(`expected ${value} at token ${this.i}, got ${JSON.stringify(this.peek())}`);
  }

  // Skip a balanced region starting at an opening bracket.
  skipBalanced() {
    const open = this.next().value;
    const close = { "{": "}", "(": ")", "[": "]", "<": ">" }[open];
    let depth = 1;
    while (depth > 0 && this.peek().kind !== "eof") {
      const t = this.next();
      if (t.kind !== "p") continue;
      if (t.value === open) depth++;
      else if (t.value === close) depth--;
    }
  }

  // Skip to the end of a statement: a `;` at depth 0, or a closing `}` of a block (then stop after it).
  skipStatement() {
    while (this.peek().kind !== "eof") {
      const t = this.peek();
      if (t.kind === "p" && "{([".includes(t.value)) { this.skipBalanced(); if (t.value === "{") { this.eat(";"); return; } continue; }
      this.i++;
      if (t.kind === "p" && t.value === ";") return;
    }
  }

  // statements of a file or namespace body, into `scope`
  statements(scope, untilBrace) {
    while (this.peek().kind !== "eof") {
      if (untilBrace && this.is("}")) { this.next(); return; }
      this.statement(scope);
    }
  }

  statement(scope) {
    if (this.eat(";")) return;
    if (this.is("import")) return this.importDecl(scope);
    let exported = false;
    if (this.eat("export")) {
      exported = true;
      if (this.is("*") || this.is("{")) return this.exportFrom(scope);
      if (this.eat("default")) { this.skipStatement(); return; }
      if (this.is("=")) { this.skipStatement(); return; }
    }
    this.eat("declare");
    this.eat("abstract");
    if (this.eat("interface")) return this.interfaceDecl(scope, exported);
    if (this.is("class")) { this.next(); return this.interfaceDecl(scope, exported, true); }
    if (this.is("type") && this.peek(1).kind === "id") { this.next(); return this.typeDecl(scope); }
    if (this.eat("namespace") || this.eat("module")) {
      const name = this.next().value;
      const ns = newScope(scope.file, scope);
      this.expect("{");
      this.statements(ns, true);
      (scope.namespaces[name] ||= []).push(ns);
      return;
    }
    this.skipStatement();
  }

  importDecl(scope) {
    this.expect("import");
    this.eat("type");
    if (this.peek().kind === "str") { this.next(); this.eat(";"); return; }
    const names = [];
    let star = null;
    if (this.eat("*")) { this.expect("as"); star = this.next().value; }
    else {
      if (this.peek().kind === "id" && !this.is("{")) {
        const def = this.next().value; // default import: not a type the SDK's schemas use
        names.push([def, "default"]);
        this.eat(",");
      }
      if (this.eat("{")) names.push(...this.nameList());
    }
    this.expect("from");
    const from = this.next().value;
    this.eat(";");
    if (star) scope.namespaceImports[star] = from;
    for (const [local, remote] of names) scope.imports[local] = { from, name: remote };
  }

  nameList() {
    const out = [];
    while (!this.eat("}")) {
      this.eat("type");
      const remote = this.next().value;
      let local = remote;
      if (this.eat("as")) local = this.next().value;
      out.push([local, remote]);
      this.eat(",");
    }
    return out;
  }

  exportFrom(scope) {
    if (this.eat("*")) {
      if (this.eat("as")) { const name = this.next().value; this.expect("from"); scope.namespaceImports[name] = this.next().value; this.eat(";"); return; }
      this.expect("from");
      scope.starExports.push(this.next().value);
      this.eat(";");
      return;
    }
    this.expect("{");
    const names = this.nameList();
    if (this.eat("from")) {
      const from = this.next().value;
      for (const [local, remote] of names) scope.imports[local] = { from, name: remote };
    }
    this.eat(";");
  }

  typeParams() {
    const params = [];
    if (!this.eat("<")) return params;
    while (!this.eat(">")) {
      params.push(this.next().value);
      if (this.eat("extends")) this.type();
      if (this.eat("=")) this.type();
      this.eat(",");
    }
    return params;
  }

  interfaceDecl(scope, exported, isClass = false) {
    const name = this.next().value;
    const params = this.typeParams();
    const bases = [];
    while (this.is("extends") || this.is("implements")) {
      const implementsOnly = this.next().value === "implements";
      do {
        const base = this.type();
        if (!implementsOnly) bases.push(base);
      } while (this.eat(","));
    }
    this.expect("{");
    const members = this.members(isClass);
    scope.types[name] = { kind: "interface", params, bases, members };
  }

  typeDecl(scope) {
    const name = this.next().value;
    const params = this.typeParams();
    this.expect("=");
    const type = this.type();
    this.eat(";");
    scope.types[name] = { kind: "alias", params, type };
  }

  // members of an interface, class or object type, after the opening brace
  members(isClass = false) {
    const out = [];
    while (!this.eat("}")) {
      if (this.eat(";") || this.eat(",")) continue;
      const start = this.peek();
      const doc = start.doc;
      let skipped = false;
      while (["readonly", "public", "private", "protected", "static", "declare", "abstract", "get", "set"]
        .includes(this.peek().value) && this.peek(1).kind !== "p") {
        if (["private", "protected", "static"].includes(this.peek().value)) skipped = true;
        this.next();
      }
      if (this.is("[")) {
        // index signature [key: string]: T  (or a computed member: skipped)
        this.next();
        const key = this.next();
        if (this.eat(":")) {
          this.type();
          this.expect("]");
          this.eat("?");
          if (this.eat(":")) out.push({ index: true, type: this.type() });
        } else {
          while (!this.eat("]")) this.next();
          this.skipMember();
        }
        void key;
        continue;
      }
      if (this.is("(") || this.is("<") || this.is("new")) { this.skipMember(); continue; }
      const nameTok = this.next();
      if (nameTok.kind === "id" && nameTok.value.startsWith("#")) { this.skipMember(); continue; }
      const name = String(nameTok.value);
      const optional = this.eat("?");
      if (this.is("(") || this.is("<")) { this.skipMember(); continue; } // method
      if (!this.eat(":")) { this.eat(";"); continue; }
      const type = this.type();
      this.eat(";");
      this.eat(",");
      if (skipped || name === "constructor") continue;
      if (isClass && nameTok.kind !== "id") continue;
      out.push({ name, optional, type, location: paramLocation(doc) });
    }
    return out;
  }

  skipMember() {
    while (this.peek().kind !== "eof") {
      const t = this.peek();
      if (t.kind === "p" && "{([<".includes(t.value)) { this.skipBalanced(); continue; }
      if (t.kind === "p" && t.value === "}") return;
      this.i++;
      if (t.kind === "p" && (t.value === ";" || t.value === ",")) return;
    }
  }

  // -- type expressions --
  type() {
    if (this.is("(") && this.looksLikeFunction()) { this.skipBalanced(); this.expect("=>"); this.type(); return { kind: "any" }; }
    this.eat("|");
    const options = [this.intersection()];
    while (this.eat("|")) options.push(this.intersection());
    const t = options.length === 1 ? options[0] : { kind: "union", options };
    if (this.is("extends") && this.peek(1).value !== undefined) {
      // conditional type: A extends B ? C : D  -> any
      this.next(); this.type(); this.expect("?"); this.type(); this.expect(":"); this.type();
      return { kind: "any" };
    }
    return t;
  }

  looksLikeFunction() {
    let depth = 0;
    for (let k = this.i; k < this.t.length; k++) {
      const t = this.t[k];
      if (t.kind !== "p") continue;
      if (t.value === "(") depth++;
      else if (t.value === ")") { depth--; if (depth === 0) return this.t[k + 1] && this.t[k + 1].value === "=>"; }
    }
    return false;
  }

  intersection() {
    this.eat("&");
    const parts = [this.postfix()];
    while (this.eat("&")) parts.push(this.postfix());
    return parts.length === 1 ? parts[0] : { kind: "intersection", parts };
  }

  postfix() {
    let t = this.primary();
    while (this.is("[") && this.peek(1).value === "]") { this.next(); this.next(); t = { kind: "array", items: t }; }
    while (this.is("[")) { this.skipBalanced(); t = { kind: "any" }; } // indexed access type
    return t;
  }

  primary() {
    const t = this.peek();
    if (t.kind === "str") { this.next(); return { kind: "literal", value: t.value }; }
    if (t.kind === "num") { this.next(); return { kind: "literal", value: t.value }; }
    if (this.eat("(")) { const inner = this.type(); this.expect(")"); return inner; }
    if (this.eat("{")) {
      return { kind: "object", members: this.members() };
    }
    if (this.is("[")) {
      this.next();
      const items = [];
      while (!this.eat("]")) { this.eat("..."); items.push(this.type()); this.eat("?"); this.eat(","); }
      return { kind: "tuple", items };
    }
    if (this.eat("typeof") || this.eat("keyof") || this.eat("unique") || this.eat("infer")) {
      this.postfix();
      return { kind: "any" };
    }
    if (this.eat("readonly")) return this.postfix();
    if (t.kind === "id") {
      this.next();
      const simple = { true: true, false: false };
      if (t.value in simple) return { kind: "literal", value: simple[t.value] };
      if (t.value === "null") return { kind: "null" };
      if (t.value === "undefined" || t.value === "void" || t.value === "never") return { kind: "undefined" };
      let name = t.value;
      while (this.is(".") && this.peek(1).kind === "id") { this.next(); name += "." + this.next().value; }
      let args = [];
      if (this.is("<")) {
        this.next();
        while (!this.eat(">")) { args.push(this.type()); this.eat(","); }
      }
      return { kind: "ref", name, args };
    }
    this.next();
    return { kind: "any" };
  }
}

function paramLocation(doc) {
  if (!doc) return null;
  const text = doc.replace(/^\s*\*\s?/gm, "").trim();
  const m = /^(Header|Query|Path|Body) param:/.exec(text);
  return m ? m[1].toLowerCase() : null;
}

function newScope(file, parent = null) {
  return { file, parent, types: {}, namespaces: {}, imports: {}, namespaceImports: {}, starExports: [] };
}

// -- modules ------------------------------------------------------------------------------------------------

class Program {
  constructor(root) { this.root = root; this.modules = new Map(); }

  resolvePath(fromFile, spec) {
    if (!spec.startsWith(".")) return null; // another package: not the SDK's types
    const base = path.resolve(path.dirname(fromFile), spec.replace(/\.(m?js)$/, ""));
    for (const candidate of [base + ".d.ts", path.join(base, "index.d.ts"), base + ".d.mts"]) {
      if (fs.existsSync(candidate)) return candidate;
    }
    return null;
  }

  module(file) {
    let scope = this.modules.get(file);
    if (scope) return scope;
    scope = newScope(file);
    this.modules.set(file, scope);
    const parser = new Parser(tokenize(fs.readFileSync(file, "utf8")));
    parser.statements(scope, false);
    return scope;
  }

  // Find a declaration by (possibly qualified) name as seen from `scope`: [declaration, its scope] or null.
  lookup(scope, name, seen = new Set()) {
    const parts = name.split(".");
    if (parts.length > 1) {
      let spaces = this.namespacesOf(scope, parts[0], seen);
      for (const part of parts.slice(1, -1)) spaces = spaces.flatMap((s) => s.namespaces[part] || []);
      for (const ns of spaces) {
        const found = this.lookupLocal(ns, parts[parts.length - 1], seen);
        if (found) return found;
      }
      return null;
    }
    for (let s = scope; s; s = s.parent) {
      const found = this.lookupLocal(s, name, seen);
      if (found) return found;
    }
    return null;
  }

  lookupLocal(scope, name, seen) {
    const key = scope.file + "#" + name;
    if (seen.has(key)) return null;
    seen.add(key);
    if (scope.types[name]) return [scope.types[name], scope, name];
    const imp = scope.imports[name];
    if (imp) {
      const file = this.resolvePath(scope.file, imp.from);
      if (file) return this.lookupLocal(this.module(file), imp.name, seen);
    }
    for (const spec of scope.starExports) {
      const file = this.resolvePath(scope.file, spec);
      if (!file) continue;
      const found = this.lookupLocal(this.module(file), name, seen);
      if (found) return found;
    }
    return null;
  }

  namespacesOf(scope, name, seen) {
    for (let s = scope; s; s = s.parent) {
      if (s.namespaceImports[name]) {
        const file = this.resolvePath(s.file, s.namespaceImports[name]);
        return file ? [this.module(file)] : [];
      }
      if (s.namespaces[name]) return s.namespaces[name];
      const imp = s.imports[name];
      if (imp) {
        const file = this.resolvePath(s.file, imp.from);
        if (file) {
          const target = this.module(file);
          if (target.namespaces[imp.name]) return target.namespaces[imp.name];
          if (target.namespaceImports[imp.name]) return this.namespacesOf(target, imp.name, seen);
        }
      }
    }
    return [];
  }
}

// -- to JSON Schema -----------------------------------------------------------------------------------------

class Emitter {
  constructor(program) { this.program = program; this.defs = {}; }

  defName(scope, name) {
    // No "/" in a $defs key: it would read as a JSON-pointer step in the $ref.
    const rel = path.relative(this.program.root, scope.file).replace(/\.d\.ts$/, "").split(path.sep).join(".");
    return `${rel}:${name}`;
  }

  ref(scope, name, env) {
    const found = this.program.lookup(scope, name);
    if (!found) return {}; // not the SDK's (Date, Promise, a built-in): any
    const [decl, declScope, localName] = found;
    if (decl.params && decl.params.length) return null; // generic: inlined by the caller
    const key = this.defName(declScope, localName);
    if (!(key in this.defs)) {
      this.defs[key] = {}; // placeholder against cycles
      this.defs[key] = this.declaration(decl, declScope, env, []);
    }
    return { $ref: `#/$defs/${key}` };
  }

  declaration(decl, scope, env, args) {
    const bound = { ...env };
    (decl.params || []).forEach((p, k) => { bound[p] = args[k] || {}; });
    if (decl.kind === "alias") return this.type(decl.type, scope, bound);
    const schema = this.objectOf(decl.members, scope, bound);
    if (!decl.bases.length) return schema;
    const merged = { type: "object", properties: {}, required: [], "x-param-location": {} };
    for (const base of decl.bases) this.mergeInto(merged, this.resolveObject(this.type(base, scope, bound)));
    this.mergeInto(merged, schema);
    return merged;
  }

  resolveObject(schema) {
    let s = schema;
    for (let k = 0; k < 20 && s && s.$ref; k++) s = this.defs[s.$ref.slice("#/$defs/".length)];
    return s || {};
  }

  mergeInto(target, source) {
    Object.assign(target.properties, source.properties || {});
    for (const r of source.required || []) if (!target.required.includes(r)) target.required.push(r);
    Object.assign(target["x-param-location"], source["x-param-location"] || {});
    if (source.additionalProperties !== undefined) target.additionalProperties = source.additionalProperties;
  }

  objectOf(members, scope, env) {
    const schema = { type: "object", properties: {}, required: [], "x-param-location": {} };
    for (const m of members) {
      if (m.index) { schema.additionalProperties = this.type(m.type, scope, env); continue; }
      const optionalByType = m.type.kind === "union" && m.type.options.some((o) => o.kind === "undefined");
      schema.properties[m.name] = this.type(m.type, scope, env);
      if (!m.optional && !optionalByType) schema.required.push(m.name);
      if (m.location && m.location !== "body") schema["x-param-location"][m.name] = m.location;
    }
    return schema;
  }

  type(t, scope, env) {
    switch (t.kind) {
      case "literal": return { const: t.value };
      case "null": return { type: "null" };
      case "undefined": return {};
      case "any": return {};
      case "array": return { type: "array", items: this.type(t.items, scope, env) };
      case "tuple": return { type: "array" };
      case "object": return this.objectOf(t.members, scope, env);
      case "union": {
        const options = t.options.filter((o) => o.kind !== "undefined").map((o) => this.type(o, scope, env));
        return options.length === 1 ? options[0] : { anyOf: options };
      }
      case "intersection": {
        // `string & {}` (an open string enum) and object mixins: keep what is not the empty object
        const parts = t.parts.map((p) => this.type(p, scope, env))
          .filter((p) => !(p.type === "object" && !Object.keys(p.properties || {}).length && p.additionalProperties === undefined));
        if (parts.length === 1) return parts[0];
        const merged = { type: "object", properties: {}, required: [], "x-param-location": {} };
        for (const p of parts) this.mergeInto(merged, this.resolveObject(p));
        return merged;
      }
      case "ref": return this.reference(t, scope, env);
      default: return {};
    }
  }

  reference(t, scope, env) {
    const builtin = {
      string: { type: "string" }, number: { type: "number" }, boolean: { type: "boolean" },
      bigint: { type: "integer" }, unknown: {}, any: {}, object: { type: "object" }, Date: { type: "string" },
      Blob: {}, File: {}, Uploadable: {}, Function: {},
    };
    if (t.name in env) return env[t.name];
    if (t.name in builtin) return builtin[t.name];
    if (t.name === "Array" || t.name === "ReadonlyArray") return { type: "array", items: t.args[0] ? this.type(t.args[0], scope, env) : {} };
    if (t.name === "Record") return { type: "object", additionalProperties: t.args[1] ? this.type(t.args[1], scope, env) : {} };
    if (["Partial", "Readonly", "Required", "NonNullable"].includes(t.name) && t.args[0]) return this.type(t.args[0], scope, env);
    if (["Omit", "Pick", "Exclude", "Extract", "Promise", "ReturnType"].includes(t.name)) return {};
    const plain = this.ref(scope, t.name, env);
    if (plain !== null) return plain;
    const [decl, declScope] = this.program.lookup(scope, t.name);
    const args = t.args.map((a) => this.type(a, scope, env));
    return this.declaration(decl, declScope, env, args);
  }
}

// -- main -----------------------------------------------------------------------------------------------------

function main() {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  const root = path.resolve(input.package);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const program = new Program(root);
  const schemas = {};
  const missing = {};
  for (const [shape, [file, name]] of Object.entries(input.roots)) {
    const full = path.join(root, file);
    if (!fs.existsSync(full)) { missing[shape] = `${file} not in this version`; continue; }
    const emitter = new Emitter(program);
    const scope = program.module(full);
    const expr = new Parser(tokenize(name)).type(); // a type expression: `Message`, `Page<ModelInfo>`
    if (expr.kind !== "ref" || !program.lookup(scope, expr.name)) { missing[shape] = `${name} not declared in ${file}`; continue; }
    const top = emitter.type(expr, scope, {});
    schemas[shape] = { ...top, $defs: emitter.defs };
  }
  process.stdout.write(JSON.stringify({ version: pkg.version, schemas, missing }));
}

main();

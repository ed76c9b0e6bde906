import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { TensorInfo } from '../../src/shared/protocol';
import type { DType } from '../../src/shared/dtypes';
import { ancestorsOf, buildTensorTree, filterTree, groupsToOpen, nameMatcher, naturalCompare, ROOT } from '../../src/webviews/modelEditor/tensorTree';

function tensors(specs: [string, DType, number[]][]): TensorInfo[] {
  let at = 0;
  return specs.map(([name, dtype, shape]) => {
    const bytes = (shape.reduce((a, b) => a * b, 1) * ({ F32: 4, F16: 2, BF16: 2, I64: 8, U8: 1 } as Record<string, number>)[dtype]);
    const t: TensorInfo = { name, dtype, shape, dataOffsets: [at, at + bytes], fileOffset: 100 + at, fileIndex: 0 };
    at += bytes;
    return t;
  });
}

const llama = tensors([
  ['model.embed_tokens.weight', 'F16', [32, 8]],
  ['model.layers.10.mlp.up_proj.weight', 'F16', [16, 8]],
  ['model.layers.2.mlp.up_proj.weight', 'F16', [16, 8]],
  ['model.layers.2.self_attn.q_proj.weight', 'F16', [8, 8]],
  ['model.layers.2.self_attn.q_proj.bias', 'F32', [8]],
  ['model.norm.weight', 'F32', [8]],
  ['lm_head.weight', 'F16', [32, 8]],
]);

test('groups by dotted prefix with totals of tensors, parameters and bytes', () => {
  const tree = buildTensorTree(llama);
  const root = tree.nodes[ROOT];
  assert.deepEqual(root.children.map((c) => tree.nodes[c].label), ['lm_head', 'model']);
  assert.equal(root.tensorCount, 7);
  assert.equal(root.params, 256 + 128 + 128 + 64 + 8 + 8 + 256);
  assert.equal(root.bytes, llama.reduce((a, t) => a + t.dataOffsets[1] - t.dataOffsets[0], 0));
  const model = tree.nodes[root.children[1]];
  assert.equal(model.path, 'model');
  assert.deepEqual(model.children.map((c) => tree.nodes[c].label), ['embed_tokens', 'layers', 'norm']);
  const layers = tree.nodes[model.children[1]];
  // natural order: 2 before 10
  assert.deepEqual(layers.children.map((c) => tree.nodes[c].label), ['2', '10']);
  const l2 = tree.nodes[layers.children[0]];
  assert.equal(l2.path, 'model.layers.2');
  assert.equal(l2.tensorCount, 3);
  assert.equal(l2.params, 128 + 64 + 8);
  assert.equal(l2.bytes, 128 * 2 + 64 * 2 + 8 * 4);
  const leaf = tree.nodes[tree.leafByName.get('model.layers.2.self_attn.q_proj.bias')!];
  assert.equal(leaf.label, 'bias');
  assert.equal(llama[leaf.tensor].name, 'model.layers.2.self_attn.q_proj.bias');
  assert.deepEqual(ancestorsOf(tree, leaf.id).map((id) => tree.nodes[id].path), ['model', 'model.layers', 'model.layers.2', 'model.layers.2.self_attn', 'model.layers.2.self_attn.q_proj']);
});

test('a name that is both a tensor and a prefix gets a leaf and a group', () => {
  const tree = buildTensorTree(tensors([['a.b', 'F32', [1]], ['a.b.c', 'F32', [2]]]));
  const a = tree.nodes[tree.nodes[ROOT].children[0]];
  const kids = a.children.map((c) => tree.nodes[c]);
  assert.equal(kids.length, 2);
  assert.deepEqual(kids.map((k) => [k.label, k.tensor >= 0]), [['b', false], ['b', true]]);
  assert.equal(kids[0].tensorCount, 1);
});

test('compress merges single-child chains into one row', () => {
  const tree = buildTensorTree(tensors([['x.y.z.w', 'F32', [1]], ['x.y.z.v', 'F32', [1]], ['x.q', 'F32', [1]], ['x.k_proj.weight', 'F32', [2]]]), { compress: true });
  const x = tree.nodes[tree.nodes[ROOT].children[0]];
  assert.deepEqual(x.children.map((c) => tree.nodes[c].label), ['k_proj.weight', 'q', 'y.z']);
  const kw = tree.nodes[x.children[0]];
  assert.equal(kw.path, 'x.k_proj.weight');
  assert.ok(kw.tensor >= 0, 'a group holding one tensor becomes that tensor');
  const yz = tree.nodes[x.children[2]];
  assert.equal(yz.path, 'x.y.z');
  assert.equal(yz.tensorCount, 2);
  const w = tree.leafByName.get('x.y.z.w')!;
  assert.deepEqual(ancestorsOf(tree, w).map((id) => tree.nodes[id].label), ['x', 'y.z']);
  // Filtering works on the compressed tree: every visible node's parent is visible.
  const r = filterTree(tree, 'k_proj')!;
  assert.equal(r.matches, 1);
  for (const id of r.visible) if (id !== ROOT) assert.ok(r.visible.has(tree.nodes[id].parent));
  const single = buildTensorTree(tensors([['only.one', 'F32', [1]]]), { compress: true });
  assert.deepEqual(single.nodes[ROOT].children.map((c) => single.nodes[c].label), ['only.one']);
});

test('filter: substring (any case) and anchored glob keep matching leaves and their ancestors', () => {
  const tree = buildTensorTree(llama);
  const r = filterTree(tree, 'Q_PROJ')!;
  assert.equal(r.matches, 2);
  const shown = [...r.visible].filter((id) => tree.nodes[id].tensor >= 0).map((id) => tree.nodes[id].path).sort();
  assert.deepEqual(shown, ['model.layers.2.self_attn.q_proj.bias', 'model.layers.2.self_attn.q_proj.weight']);
  assert.ok(r.visible.has(ROOT));
  assert.ok(r.visible.has(tree.nodes[tree.leafByName.get('model.norm.weight')!].parent) === false);
  const g = filterTree(tree, 'model.layers.*.weight')!;
  assert.equal(g.matches, 3);
  assert.equal(filterTree(tree, '*.weight')!.matches, 6);
  assert.equal(filterTree(tree, 'weight')!.matches, 6);
  assert.equal(filterTree(tree, 'w?ight')!.matches, 0, 'a glob is anchored to the whole name');
  assert.equal(filterTree(tree, '  '), null);
  assert.equal(filterTree(tree, 'nothing-like-this')!.matches, 0);
});

test('nameMatcher treats regex characters literally', () => {
  const m = nameMatcher('a+b(*')!;
  assert.equal(m('a+b(x'), true);
  assert.equal(m('aab(x'), false);
  assert.equal(nameMatcher('[0]')!('x[0]y'), true);
});

test('filter agrees with a direct scan (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.array(fc.constantFrom('a', 'b', 'c', '1', '10'), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 30 }), fc.constantFrom('a', 'b.1', '*.c', 'a*', '1'), (paths, q) => {
      const names = [...new Set(paths.map((p) => p.join('.')))];
      const tree = buildTensorTree(names.map((name, i) => ({ name, dtype: 'F32', shape: [1], dataOffsets: [4 * i, 4 * i + 4], fileOffset: 0, fileIndex: 0 })));
      const r = filterTree(tree, q)!;
      const m = nameMatcher(q)!;
      assert.equal(r.matches, names.filter(m).length);
      for (const name of names) assert.equal(r.visible.has(tree.leafByName.get(name)!), m(name));
      // every visible node's parent is visible
      for (const id of r.visible) if (id !== ROOT) assert.ok(r.visible.has(tree.nodes[id].parent));
      assert.equal(tree.nodes[ROOT].tensorCount, names.length);
    }),
  );
});

test('groupsToOpen stays within the row budget', () => {
  const many = tensors(Array.from({ length: 200 }, (_, i) => [`m.layers.${i}.w`, 'U8', [1]] as [string, DType, number[]]));
  const tree = buildTensorTree(many);
  const open = groupsToOpen(tree, null, 50);
  assert.ok(open.has(tree.nodes[ROOT].children[0]), 'top group opens');
  const layers = tree.nodes[tree.nodes[tree.nodes[ROOT].children[0]].children[0]];
  assert.equal(open.has(layers.id), false, '200 children exceed the budget');
  const r = filterTree(tree, 'layers.7.')!;
  const openFiltered = groupsToOpen(tree, r.visible, 50);
  assert.ok(openFiltered.has(layers.id));
  assert.ok(openFiltered.has(tree.nodes[tree.leafByName.get('m.layers.7.w')!].parent));
});

test('natural order; a 10k-tensor model builds and filters without quadratic work', () => {
  assert.ok(naturalCompare('layers.2', 'layers.10') < 0);
  assert.ok(naturalCompare('a10b', 'a9b') > 0);
  assert.ok(naturalCompare('a', 'a.b') < 0);
  const big = tensors(Array.from({ length: 10000 }, (_, i) => [`model.layers.${i % 100}.block.${Math.floor(i / 100)}.weight`, 'BF16', [64, 64]] as [string, DType, number[]]));
  const t0 = performance.now();
  const tree = buildTensorTree(big);
  const t1 = performance.now();
  const r = filterTree(tree, 'layers.42.')!;
  const t2 = performance.now();
  assert.equal(r.matches, 100);
  assert.equal(tree.nodes[ROOT].params, 10000 * 64 * 64);
  assert.ok(t1 - t0 < 2000, `build took ${t1 - t0} ms`);
  assert.ok(t2 - t1 < 500, `filter took ${t2 - t1} ms`);
});

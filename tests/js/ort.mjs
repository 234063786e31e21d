// onnxruntime-node as the node tests' oracle: one session per call, one thread, the graph as written by default.
import ort from 'onnxruntime-node';

// feeds: {name: {dtype, data, shape}}; returns {output name: {shape, data}}.
export async function ortRun(model, feeds, graphOptimizationLevel = 'disabled') {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel });
  const ortFeeds = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype, t.data, t.shape);
  const out = await s.run(ortFeeds);
  const res = {};
  for (const name of s.outputNames) res[name] = { shape: out[name].dims.map(Number), data: out[name].data };
  await s.release();
  return res;
}

// Quantized exports of a graph: fake-quant fp32 weights, a QDQ (QuantizeLinear/DequantizeLinear) graph, the
// activation ranges they need, and the encodings / report JSON. The input graph is never modified.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/quant/calib.h"
#include "core/quant/quantizer.h"
#include "core/quant/range.h"
#include "core/runtime/executor.h"

namespace qp {

// --- activation ranges ----------------------------------------------------------------------------------------

struct ActivationRange {
  double min = 0, max = 0;  // the range the quantizer uses (method applied); 0 is not forced in here
  double observed_min = 0, observed_max = 0;  // min / max over all calibration values
  int64_t count = 0;        // finite values seen
  int64_t non_finite = 0;
};
using ActivationRanges = std::map<std::string, ActivationRange>;  // tensor name -> range

// The tensors that get activation QDQ: the float32 graph inputs and the activation input of every quantizable
// layer (find_layers, weight not skipped) whose weight bits are not 0 under `layer_bits`/`default_bits`; in graph
// order, without duplicates. Weights and other constants are never listed.
std::vector<std::string> activation_tensors(const Graph& g, const std::map<std::string, int>& layer_bits = {},
                                            int default_bits = 8);

// Runs the fp32 model (core/runtime/executor.h, capture) on every calibration sample and sets each tensor's range
// with `method` for an unsigned `bits`-bit asymmetric quantizer: min-max over all values (streamed), or percentile
// / MSE / ACIQ on all values of the tensor gathered over the samples (memory grows with the calibration set).
// Throws qp::Error naming a tensor that is not float32 or that the run does not produce.
ActivationRanges activation_ranges(const Graph& g, const CalibrationSet& data, const std::vector<std::string>& tensors,
                                   const RangeOptions& method = {}, int bits = 8);

// --- export configuration -------------------------------------------------------------------------------------

struct ExportConfig {
  int default_bits = 8;                   // weight bits of layers not in `layer_bits`: 2..8, or 0 = keep float32
  std::map<std::string, int> layer_bits;  // layer (node) name -> bits (2..8, 0 = float32): MixQuant's choice
  Scheme scheme = Scheme::kSymmetric;     // weights; sym: signed grid, asym: unsigned grid (as the sweep)
  RangeMode range_mode = RangeMode::kRestricted;
  Granularity granularity = Granularity::kChannel;
  RangeOptions weight_range;              // range method for weights
  int activation_bits = 8;                // 8 (asymmetric uint8 per tensor) or 0 = weights only
  bool allow_int4 = true;                 // QDQ: store <= 4-bit weights as int4/uint4 (raises the opset to 21)
  bool allow_opset_upgrade = true;        // QDQ: raise the opset to 10 / 13 / 21 where needed and possible
};

// Throws qp::Error naming the bad field or an unknown layer name.
void export_config_validate(const ExportConfig& c, const Graph& g);
// The wasm/CLI spelling: {"bits": 8, "layer_bits": {"conv1": 4}, "scheme": "sym", "granularity": "channel",
// "range": "minmax", "range_mode": "restricted", "activation_bits": 8, "allow_int4": true, "allow_opset_upgrade": true};
// every field optional. Throws qp::Error naming the field.
ExportConfig export_config_from_json(const std::string& json);

// --- what an export did ---------------------------------------------------------------------------------------

struct LayerExport {
  std::string layer, op_type, weight;
  int bits = 0;                     // 0: kept float32
  Granularity granularity = Granularity::kTensor;
  int axis = -1;                    // per-channel axis of the weight (-1 per tensor)
  DType storage = DType::kFloat32;  // QDQ: int8 / uint8 / int4 / uint4 initializer; fake-quant: float32
  QuantSpec spec;
  std::vector<QParams> params;      // one per tensor or one per channel
  double sqnr_db = 0;               // weight SQNR at this quantizer
  std::string skip;                 // why not quantized ("" when it is)
};

struct ActivationExport {
  std::string tensor;
  QuantSpec spec;
  QParams params;
  ActivationRange range;
  std::vector<std::string> consumers;  // nodes that read the dequantized tensor
};

struct ExportReport {
  std::string format;               // "fake_quant" or "qdq"
  int64_t opset_before = 0, opset_after = 0, ir_before = 0, ir_after = 0;
  std::vector<std::string> opset_rewrites;  // nodes rewritten by the opset upgrade
  std::vector<std::string> opset_blockers;  // why an upgrade that was wanted could not be done
  std::string int4_storage;         // "int4" (opset 21), "int8_grid" (4-bit codes on an int8 grid), "" (no <=4-bit layer)
  Granularity granularity = Granularity::kTensor;  // what the weights use (may be per tensor when per channel was asked
                                                   // but the opset could not reach 13)
  std::vector<LayerExport> layers;  // every find_layers layer, in graph order
  std::vector<ActivationExport> activations;
  int64_t quantize_nodes = 0, dequantize_nodes = 0;
  std::vector<std::string> notes;
};

// Fake-quant model: the same graph with every quantized layer's weight replaced by its dequantized values
// (float32; float16/bfloat16 weights are written back in their stored type). Uses exactly the weight quantizers the
// QDQ export uses (same granularity decision), so the two can be compared. Activations are not touched: run the
// result with RunOptions::fake_quant = export_activation_fake_quant(report) for the full simulation.
Graph export_fake_quant(const Graph& g, const ExportConfig& c, ExportReport* report = nullptr);

// QDQ model: each quantized layer's weight becomes an int8/uint8 (int4/uint4 at opset 21) initializer with a
// DequantizeLinear (per axis from opset 13) feeding the layer; each tensor of activation_tensors() gets
// QuantizeLinear -> DequantizeLinear (uint8, per tensor, from `ranges`) and every consumer reads the dequantized
// tensor. Biases stay float32. The default-domain opset is raised to 10 (QDQ), 13 (per axis) or 21 (int4) when
// needed and allowed by opset_upgrade; otherwise per channel falls back to per tensor and int4 to an int8 grid
// restricted to the 4-bit range (reported). Throws qp::Error naming the tensor/node (missing range, opset < 10
// that cannot be raised, bad config).
Graph export_qdq(const Graph& g, const ExportConfig& c, const ActivationRanges& ranges, ExportReport* report = nullptr);

// The activation quantizers of a QDQ export as executor fake-quant settings (tensor name -> fixed QParams).
std::map<std::string, FakeQuant> export_activation_fake_quant(const ExportReport& r);

// Encodings (AIMET-style, documented in docs/json-schema.md, kind "encodings"): per weight and activation tensor
// a list (one entry per channel when per channel) of {bitwidth, dtype, is_symmetric, scale, offset, min, max,
// zero_point, qmin, qmax}.
std::string encodings_json(const ExportReport& r, int indent = -1);
// What was exported (kind "export"): format, opset change, per-layer bits/granularity/storage, activations, node
// counts, notes.
std::string export_report_json(const ExportReport& r, int indent = -1);

}  // namespace qp

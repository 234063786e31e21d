// The trained digits CNN of ../shared/models/trained and its labelled test set, as the analysis tests use them.
#pragma once

#include <string>

#include "core/ir/graph.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/quant/calib.h"
#include "tests/support/test_data.h"

namespace qp_test {

inline const qp::Graph& digits_graph() {
  static const qp::Graph g = qp::onnx_load_file(shared_dir() + "/models/trained/digits_cnn.onnx");
  return g;
}

// The first `rows` test digits in samples of `batch`, with their labels when `labels`.
inline qp::CalibrationSet digits_data(int rows, int batch, bool labels = false) {
  const std::string dir = shared_dir() + "/models/trained/";
  const qp::Tensor x = qp::npy_parse(qp::read_file_bytes(dir + "digits_cnn_test_x.npy"), "x");
  qp::CalibrationSet cs = qp::calibration_from_tensors(digits_graph(), {x}, {"digits_cnn_test_x.npy"}, batch, rows / batch);
  if (labels) {
    const auto y = qp::calibration_labels(qp::npy_parse(qp::read_file_bytes(dir + "digits_cnn_test_y.npy"), "y"), "y");
    cs.labels.assign(y.begin(), y.begin() + rows);
  }
  return cs;
}

}  // namespace qp_test

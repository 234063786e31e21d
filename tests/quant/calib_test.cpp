// Calibration data: random sets, raw tensors split into samples, labels, pixel preprocessing against hand-computed
// values, and (natively) files and directories of .npy / .pb / images with errors that name the file.
#include "core/quant/calib.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/ir/error.h"
#include "core/ir/npy.h"
#include "core/onnx/loader.h"
#include "core/runtime/executor.h"
#include "tests/support/test_data.h"

#if !defined(__EMSCRIPTEN__)
#include <unistd.h>
#endif

using namespace qp;

namespace {

const Graph& digits() {
  static const Graph g = onnx_load_file(qp_test::shared_dir() + "/models/trained/digits_cnn.onnx");
  return g;
}

// A 4-D float input with fixed H, W (and symbolic batch) for image tests: digits_cnn is [N, 1, 32, 32].
Graph image_graph(int64_t c, int64_t h, int64_t w) {
  Graph g;
  ValueInfo vi;
  vi.name = "img";
  vi.dtype = DType::kFloat32;
  vi.has_shape = true;
  vi.shape = {Dim{-1, "N"}, Dim{c, ""}, Dim{h, ""}, Dim{w, ""}};
  g.inputs = {vi};
  return g;
}

Tensor f32_tensor(std::vector<int64_t> dims, float start) {
  Tensor t;
  t.name = "t";
  t.dtype = t.stored_dtype = DType::kFloat32;
  t.dims = dims;
  const int64_t n = shape_numel(dims);
  t.data.resize(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) t.f32_mut()[i] = start + static_cast<float>(i);
  return t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("calibration_random: seeded, shaped from the model, uniform or normal") {
  RandomCalibration o;
  o.samples = 3;
  const CalibrationSet a = calibration_random(digits(), o), b = calibration_random(digits(), o);
  REQUIRE(a.samples.size() == 3);
  const Value& x = a.samples[1].at("input");
  CHECK(x.shape == std::vector<int64_t>{1, 1, 32, 32});
  CHECK(value_to_doubles(x) == value_to_doubles(b.samples[1].at("input")));
  CHECK(value_to_doubles(x) != value_to_doubles(a.samples[0].at("input")));
  o.std = 2;
  o.mean = 5;
  o.samples = 1;
  o.dims["N"] = 64;
  const auto v = value_to_doubles(calibration_random(digits(), o).samples[0].at("input"));
  double m = 0, s = 0;
  for (double e : v) m += e;
  m /= static_cast<double>(v.size());
  for (double e : v) s += (e - m) * (e - m);
  s = std::sqrt(s / static_cast<double>(v.size()));
  CHECK(m == doctest::Approx(5).epsilon(0.01));
  CHECK(s == doctest::Approx(2).epsilon(0.02));
  o.samples = 0;
  CHECK(error_of([&] { calibration_random(digits(), o); }) == "calibration: samples must be in 1..100000, got 0");
}

TEST_CASE("calibration_from_tensors: with or without the batch dim, grouped in batches, errors name the file") {
  // [3,1,32,32] -> 3 samples of 1 row, or 2 samples (2 + 1 rows) with batch 2.
  const Tensor t = f32_tensor({3, 1, 32, 32}, 0);
  CalibrationSet cs = calibration_from_tensors(digits(), {t}, {"x.npy"});
  REQUIRE(cs.samples.size() == 3);
  CHECK(cs.samples[2].at("input").shape == std::vector<int64_t>{1, 1, 32, 32});
  CHECK(cs.samples[2].at("input").f32()[0] == 2 * 1024);
  cs = calibration_from_tensors(digits(), {t}, {"x.npy"}, 2);
  REQUIRE(cs.samples.size() == 2);
  CHECK(cs.samples[1].at("input").shape[0] == 1);
  cs = calibration_from_tensors(digits(), {f32_tensor({1, 32, 32}, 7)}, {"one.pb"});
  REQUIRE(cs.samples.size() == 1);
  CHECK(cs.samples[0].at("input").shape == std::vector<int64_t>{1, 1, 32, 32});
  CHECK(cs.samples[0].at("input").f32()[1] == 8);
  CHECK(calibration_from_tensors(digits(), {t}, {"x.npy"}, 1, 2).samples.size() == 2);
  CHECK(error_of([&] { calibration_from_tensors(digits(), {f32_tensor({2, 3, 32, 32}, 0)}, {"rgb.npy"}); }) ==
        "rgb.npy: shape [2,3,32,32] does not fit input 'input' float32 [N,1,32,32] (with or without its batch dim)");
  Tensor i64 = t;
  i64.dtype = DType::kInt64;
  CHECK(error_of([&] { calibration_from_tensors(digits(), {i64}, {"ints.npy"}); }).find("ints.npy: int64") == 0);
  // The real test set runs: its fp32 accuracy on the first 64 rows matches the labels.
  const std::string dir = qp_test::shared_dir() + "/models/trained/";
  const Tensor x = npy_parse(read_file_bytes(dir + "digits_cnn_test_x.npy"), "x");
  cs = calibration_from_tensors(digits(), {x}, {"digits_cnn_test_x.npy"}, 32, 2);
  const auto y = calibration_labels(npy_parse(read_file_bytes(dir + "digits_cnn_test_y.npy"), "y"), "y");
  REQUIRE(y.size() == 450);
  Executor ex(digits());
  int ok = 0;
  for (size_t s = 0; s < cs.samples.size(); ++s) {
    const auto logits = value_to_doubles(ex.run(cs.samples[s]).at("logits"));
    for (size_t r = 0; r < 32; ++r) {
      size_t best = 0;
      for (size_t k = 1; k < 10; ++k)
        if (logits[r * 10 + k] > logits[r * 10 + best]) best = k;
      ok += static_cast<int64_t>(best) == y[s * 32 + r];
    }
  }
  CHECK(ok >= 62);
}

TEST_CASE("calibration_labels: integers of any type; fractions refused") {
  Tensor t = f32_tensor({3}, 1);
  CHECK(calibration_labels(t, "y") == std::vector<int64_t>{1, 2, 3});
  t.f32_mut()[1] = 2.5f;
  CHECK(error_of([&] { calibration_labels(t, "labels.npy"); }) == "labels.npy: label 1 is not an integer");
}

TEST_CASE("image_to_tensor: resize, centre crop, channel order, scale, mean/std, NCHW") {
  // 4x2 image: pixel (x, y) = (10x + y, 100 + x, 200 - y), alpha ignored.
  PixelImage img;
  img.name = "synthetic";
  img.width = 4;
  img.height = 2;
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x) img.rgba.insert(img.rgba.end(), {uint8_t(10 * x + y), uint8_t(100 + x), uint8_t(200 - y), 7});
  SUBCASE("centre crop 2x2, BGR, scale, mean/std") {
    ImagePreprocess p;
    p.order = ChannelOrder::kBGR;
    p.scale = 0.5f;
    p.mean[0] = 1;
    p.std[0] = 2;
    const Value v = image_to_tensor(image_graph(3, 2, 2), img, p);
    REQUIRE(v.shape == std::vector<int64_t>{1, 3, 2, 2});
    const float* d = v.f32();
    // Channel 0 = blue: (200 - y) * 0.5 - 1) / 2; crop starts at x = 1.
    CHECK(d[0] == doctest::Approx((200 * 0.5 - 1) / 2));
    CHECK(d[2] == doctest::Approx((199 * 0.5 - 1) / 2));
    // Channel 1 = green at (x=1,y=0) and (x=2,y=0): 101, 102 scaled.
    CHECK(d[4] == doctest::Approx(101 * 0.5));
    CHECK(d[5] == doctest::Approx(102 * 0.5));
    // Channel 2 = red at (x=2, y=1): 21.
    CHECK(d[8 + 3] == doctest::Approx(21 * 0.5));
  }
  SUBCASE("resize to an exact size: bilinear with half-pixel centres") {
    ImagePreprocess p;
    p.resize_w = 2;
    p.resize_h = 1;
    p.scale = 1;
    const Value v = image_to_tensor(image_graph(3, 1, 2), img, p);
    // Output x=0 samples source x=0.5, y=0.5: red = mean of 10x+y over x in {0,1}, y in {0,1} = 5.5.
    CHECK(v.f32()[0] == doctest::Approx(5.5));
    CHECK(v.f32()[1] == doctest::Approx(25.5));
    CHECK(v.f32()[2] == doctest::Approx(100.5));
  }
  SUBCASE("shorter side, then crop; one channel gets the luma") {
    ImagePreprocess p;
    p.resize_shorter = 4;  // 4x2 -> 8x4
    p.scale = 1;
    const Value v = image_to_tensor(image_graph(1, 4, 4), img, p);
    REQUIRE(v.shape == std::vector<int64_t>{1, 1, 4, 4});
    for (float e : value_to_doubles(v)) CHECK((e > 0 && e < 255));
  }
  SUBCASE("errors") {
    ImagePreprocess p;
    CHECK(error_of([&] { image_to_tensor(image_graph(3, 8, 8), img, p); }) ==
          "synthetic: after resizing the image is 4x2, smaller than the crop 8x8 the input 'img' float32 [N,3,8,8] needs "
          "(resize it larger)");
    p.std[1] = 0;
    CHECK(error_of([&] { image_to_tensor(image_graph(3, 2, 2), img, p); }) == "preprocess.std: must be finite and non-zero");
    PixelImage bad = img;
    bad.rgba.pop_back();
    CHECK(error_of([&] { image_to_tensor(image_graph(3, 2, 2), bad, ImagePreprocess{}); }) ==
          "synthetic: 31 bytes of pixels for 4x2 RGBA");
  }
  const CalibrationSet cs = calibration_from_pixels(image_graph(3, 2, 2), {img, img}, ImagePreprocess{});
  CHECK(cs.samples.size() == 2);
  CHECK(cs.source == "2 images");
}

#if !defined(__EMSCRIPTEN__)
namespace {
std::string temp_dir() { return qp_test::make_temp_dir("qp_calib"); }
using qp_test::write_file;
}  // namespace

TEST_CASE("calibration files: a directory of .npy, .pb and images in name order; errors name the file") {
  const std::string dir = temp_dir();
  Tensor t = f32_tensor({2, 1, 32, 32}, 0);
  write_file(dir + "/a.npy", npy_serialize(t));
  // A real serialised TensorProto: 16 test digits.
  write_file(dir + "/b.pb", read_file_bytes(qp_test::shared_dir() + "/models/refcases/digits_cnn_test16/test_data_set_0/input_0.pb"));
  // A 2x1 binary PPM, decoded by stb_image: grey levels 0 and 255 -> luma * (1/255).
  write_file(dir + "/c.ppm", std::string("P6\n2 1\n255\n", 11) + std::string("\x00\x00\x00\xff\xff\xff", 6));
  write_file(dir + "/notes.txt", "skipped");
  ImagePreprocess p;
  p.resize_w = 32;
  p.resize_h = 32;
  const CalibrationSet cs = calibration_from_dir(digits(), dir, p);
  REQUIRE(cs.samples.size() == 2 + 16 + 1);
  CHECK(cs.samples[1].at("input").f32()[0] == 1024);
  const auto img = value_to_doubles(cs.samples[18].at("input"));
  CHECK(img[0] == doctest::Approx(0).epsilon(1e-6));
  CHECK(img[31] == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(cs.source.find("19 samples from 2 tensor files and 1 image in ") == 0);
  CHECK(calibration_from_dir(digits(), dir, p, 1, 5).samples.size() == 5);
  CHECK(calibration_from_dir(digits(), dir, p, 8).samples.size() == 1 + 2 + 1);  // batches of 8: 2 | 16 | 1 rows

  write_file(dir + "/d.png", "not a png");
  CHECK(error_of([&] { calibration_from_dir(digits(), dir, p); }).find(dir + "/d.png: cannot decode the image (") == 0);
  CHECK(error_of([&] { calibration_from_files(digits(), {dir + "/notes.txt"}, p); }) ==
        dir + "/notes.txt: not a calibration file (expected .npy, .pb or an image: png, jpg, bmp, gif, tga, ppm, pgm)");
  write_file(dir + "/e.npy", "\x93NUMPY garbage");
  CHECK(error_of([&] { calibration_from_files(digits(), {dir + "/e.npy"}, p); }).find(dir + "/e.npy: ") == 0);
  CHECK(error_of([&] { calibration_from_dir(digits(), dir + "/missing", p); }) == dir + "/missing: not a directory");
  std::system(("rm -rf '" + dir + "'").c_str());
}
#else
TEST_CASE("calibration files are native only in wasm") {
  CHECK(error_of([] { calibration_from_files(digits(), {"x.npy"}, ImagePreprocess{}); }) ==
        "calibration files are read natively only (in wasm hand tensors or pixels in)");
}
#endif

// Calibration data: N samples of model inputs (seeded random, raw tensors, images) that passes and the analysis
// run the model on. Samples are owned Values by graph input name.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ir/graph.h"
#include "core/runtime/value.h"

namespace qp {

using Sample = std::map<std::string, Value>;  // graph input name -> tensor (owned storage)

struct CalibrationSet {
  std::vector<Sample> samples;
  std::string source;  // for reports: "random (seed 1, uniform [0, 1), 16 samples)", "3 .npy files in data/", ...
  // Optional class labels, one per row of the samples in order (sample 0's batch rows first), for accuracy.
  std::vector<int64_t> labels;
};

// Random calibration data shaped from the model's inputs (symbolic dims from `dims`, else 1 for a leading dim and
// 64 for the others): float inputs
// uniform in [lo, hi) or, when std > 0, normal(mean, std); integer inputs in [0, 10). Sample i uses seed + i,
// so the same call gives the same data natively and in wasm.
struct RandomCalibration {
  int samples = 16;
  uint64_t seed = 1;
  float lo = 0.0f, hi = 1.0f;
  float mean = 0.0f, std = 0.0f;
  std::map<std::string, int64_t> dims;
};
CalibrationSet calibration_random(const Graph& g, const RandomCalibration& opt);

// The graph input that calibration files and images feed: the only input, else a float32 input of rank 4.
// Throws qp::Error listing the inputs when none or several qualify.
const ValueInfo& calibration_input(const Graph& g);

// Raw tensors (parsed .npy / .pb) for the model's one input: a tensor shaped as the input without its batch dim
// gives 1 sample; with a leading batch of N, N samples (rows grouped `batch` per sample, the last group may be
// smaller). float64 is narrowed to float32 for a float32 input. `names[i]` names tensor i in messages (its file).
// Errors name the file and what is wrong: "digits.npy: shape [450,3,32,32] does not fit input 'x' float32 [N,1,32,32]".
CalibrationSet calibration_from_tensors(const Graph& g, const std::vector<Tensor>& tensors,
                                        const std::vector<std::string>& names, int batch = 1, int max_samples = 0);

// Class labels from an integer (or integral float) tensor of any shape, flattened. Throws on a non-integral value.
std::vector<int64_t> calibration_labels(const Tensor& t, const std::string& what);

// Image preprocessing (RGBA8 pixels -> float tensor), in core so native and wasm agree:
// resize (shorter side to `resize_shorter`, or to exactly `resize_w` x `resize_h`; bilinear, half-pixel centres,
// no antialiasing), centre crop to the model's H x W (or `crop_h` x `crop_w` for symbolic dims), channel order,
// x = pixel * scale, then (x - mean[c]) / std[c], NCHW. A model input with 1 channel gets the luma
// (0.299 R + 0.587 G + 0.114 B, before scale/mean/std).
enum class ChannelOrder : uint8_t { kRGB, kBGR };
struct ImagePreprocess {
  int resize_shorter = 0;
  int resize_w = 0, resize_h = 0;
  int crop_w = 0, crop_h = 0;
  ChannelOrder order = ChannelOrder::kRGB;
  float scale = 1.0f / 255.0f;
  float mean[3] = {0, 0, 0};
  float std[3] = {1, 1, 1};
};
// Throws qp::Error naming the bad field.
void image_preprocess_validate(const ImagePreprocess& p);

struct PixelImage {
  std::string name;              // for messages (the file name)
  int width = 0, height = 0;
  std::vector<uint8_t> rgba;     // width * height * 4 bytes, row-major, top row first
};

// One image as a float32 tensor [1, C, H, W] for the model's image input (calibration_input).
Value image_to_tensor(const Graph& g, const PixelImage& img, const ImagePreprocess& p);
// One sample per image.
CalibrationSet calibration_from_pixels(const Graph& g, const std::vector<PixelImage>& images, const ImagePreprocess& p);

// Native only (core/quant/calib_files.cpp; in wasm these throw qp::Error): files by extension — .npy, .pb (serialised
// ONNX TensorProto), and images decoded with stb_image (.png, .jpg, .jpeg, .bmp, .gif, .tga, .ppm, .pgm, .psd, .hdr
// excluded). A directory is read in name order (other files are skipped). `max_samples` > 0 stops there.
CalibrationSet calibration_from_files(const Graph& g, const std::vector<std::string>& paths, const ImagePreprocess& p,
                                      int batch = 1, int max_samples = 0);
CalibrationSet calibration_from_dir(const Graph& g, const std::string& dir, const ImagePreprocess& p, int batch = 1,
                                    int max_samples = 0);
// Decodes one image file to RGBA8 (stb_image); throws qp::Error naming the file and stb's reason.
PixelImage image_load_file(const std::string& path);

}  // namespace qp

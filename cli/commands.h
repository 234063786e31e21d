// Subcommands that live in their own files: each registers its options on the app and returns how to run it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/quant/calib.h"

namespace qpcli {

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;  // parses its own options further, loads the model, prints; returns the exit code
};

// equalize, biascorrect, export (cli/transform_cmds.cpp)
std::vector<Subcommand> add_transform_commands(CLI::App& app);
// analyze (cli/analyze_cmd.cpp)
std::vector<Subcommand> add_analyze_command(CLI::App& app);

// Calibration data options shared by the commands that run the model.
struct CalibArgs {
  std::string data;            // directory or file of .npy / .pb tensors or images
  int samples = 16;            // --samples: random samples, or at most this many files
  uint64_t seed = 1;
  float lo = 0.0f, hi = 1.0f, mean = 0.0f, std = 0.0f;
  std::vector<std::string> dims;  // NAME=SIZE
  // Images in --data: resized (shorter side, or exactly WxH), centre-cropped to the model's input, then
  // x = pixel * scale, (x - mean[c]) / std[c].
  int resize_shorter = 0;
  std::string resize, channels = "rgb", scale = "1/255", img_mean = "0", img_std = "1";
};
void add_calib_options(CLI::App* sc, CalibArgs& a);
// The calibration set the options describe (random unless --data). Throws qp::Error naming the file or option.
qp::CalibrationSet make_calibration(const qp::Graph& g, const CalibArgs& a);

}  // namespace qpcli

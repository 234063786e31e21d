// Calibration data options of the commands that run the model (analyze, equalize with data, biascorrect, export).
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <vector>

#include "cli/commands.h"
#include "core/ir/error.h"

namespace qpcli {

void add_calib_options(CLI::App* sc, CalibArgs& a) {
  sc->add_option("--data", a.data, "calibration data: a directory or file of .npy / .pb tensors or images")
      ->group("Calibration data");
  sc->add_option("--samples", a.samples, "number of samples (random data), or at most this many from --data")
      ->capture_default_str()->check(CLI::Range(1, 100000))->group("Calibration data");
  sc->add_option("--seed", a.seed, "seed of the random data")->capture_default_str()->group("Calibration data");
  sc->add_option("--lo", a.lo, "random data: uniform in [lo, hi)")->capture_default_str()->group("Calibration data");
  sc->add_option("--hi", a.hi, "random data: uniform in [lo, hi)")->capture_default_str()->group("Calibration data");
  sc->add_option("--mean", a.mean, "random data: normal with this mean (with --std)")->group("Calibration data");
  sc->add_option("--std", a.std, "random data: normal with this standard deviation instead of uniform")
      ->check(CLI::NonNegativeNumber)->group("Calibration data");
  sc->add_option("--dim", a.dims, "NAME=SIZE for a symbolic input dim (default 1 for a leading dim, 64 for others)")->group("Calibration data");
  sc->add_option("--resize-shorter", a.resize_shorter, "images: resize the shorter side to this, then centre-crop")
      ->check(CLI::Range(1, 16384))->group("Calibration data");
  sc->add_option("--resize", a.resize, "images: resize to exactly WxH (e.g. 192x48)")->group("Calibration data");
  sc->add_option("--channels", a.channels, "images: rgb | bgr")->capture_default_str()
      ->check(CLI::IsMember({"rgb", "bgr"}))->group("Calibration data");
  sc->add_option("--scale", a.scale, "images: pixel (0..255) multiplier, e.g. 1/255 or 1")->capture_default_str()
      ->group("Calibration data");
  sc->add_option("--img-mean", a.img_mean, "images: mean subtracted after scaling: one value or R,G,B")
      ->capture_default_str()->group("Calibration data");
  sc->add_option("--img-std", a.img_std, "images: std divided by after the mean: one value or R,G,B")
      ->capture_default_str()->group("Calibration data");
}

namespace {

double parse_fraction(const std::string& s, const char* opt) {
  const size_t slash = s.find('/');
  char* end = nullptr;
  const double a = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || (slash == std::string::npos ? *end != '\0' : end != s.c_str() + slash))
    throw qp::Error(std::string(opt) + " " + s + ": expected a number or a fraction such as 1/255");
  if (slash == std::string::npos) return a;
  const double b = std::strtod(s.c_str() + slash + 1, &end);
  if (*end != '\0' || b == 0) throw qp::Error(std::string(opt) + " " + s + ": expected a number or a fraction such as 1/255");
  return a / b;
}

void parse_triple(const std::string& s, const char* opt, float out[3]) {
  std::vector<double> v;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    v.push_back(parse_fraction(item, opt));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (v.size() != 1 && v.size() != 3) throw qp::Error(std::string(opt) + " " + s + ": give one value or three (R,G,B)");
  for (int c = 0; c < 3; ++c) out[c] = static_cast<float>(v[v.size() == 1 ? 0 : c]);
}

qp::ImagePreprocess image_preprocess(const CalibArgs& a) {
  qp::ImagePreprocess p;
  p.resize_shorter = a.resize_shorter;
  if (!a.resize.empty()) {
    int w = 0, h = 0;
    char x = 0;
    if (std::sscanf(a.resize.c_str(), "%d%c%d", &w, &x, &h) != 3 || (x != 'x' && x != 'X') || w < 1 || h < 1)
      throw qp::Error("--resize " + a.resize + ": expected WxH, e.g. 192x48");
    p.resize_w = w;
    p.resize_h = h;
  }
  p.order = a.channels == "bgr" ? qp::ChannelOrder::kBGR : qp::ChannelOrder::kRGB;
  p.scale = static_cast<float>(parse_fraction(a.scale, "--scale"));
  parse_triple(a.img_mean, "--img-mean", p.mean);
  parse_triple(a.img_std, "--img-std", p.std);
  qp::image_preprocess_validate(p);
  return p;
}

}  // namespace

qp::CalibrationSet make_calibration(const qp::Graph& g, const CalibArgs& a) {
  qp::RandomCalibration rc;
  rc.samples = a.samples;
  rc.seed = a.seed;
  rc.lo = a.lo;
  rc.hi = a.hi;
  rc.mean = a.mean;
  rc.std = a.std;
  for (const auto& d : a.dims) {
    const size_t eq = d.find('=');
    char* end = nullptr;
    const long long v = eq == std::string::npos ? -1 : std::strtoll(d.c_str() + eq + 1, &end, 10);
    if (eq == std::string::npos || !end || *end != '\0' || v < 1)
      throw qp::Error("--dim " + d + ": expected NAME=SIZE with SIZE >= 1");
    rc.dims[d.substr(0, eq)] = v;
  }
  if (a.data.empty()) return qp::calibration_random(g, rc);
  const qp::ImagePreprocess p = image_preprocess(a);
  struct stat st {};
  if (::stat(a.data.c_str(), &st) != 0) throw qp::Error("--data " + a.data + ": no such file or directory");
  if (S_ISDIR(st.st_mode)) return qp::calibration_from_dir(g, a.data, p, 1, a.samples);
  return qp::calibration_from_files(g, {a.data}, p, 1, a.samples);
}

}  // namespace qpcli

// Calibration data from files (native only): .npy, serialised TensorProto .pb, and images decoded by stb_image.
// In wasm the browser decodes images and hands pixels to calibration_from_pixels, so stb is not built there.
#include "core/quant/calib.h"

#include "core/ir/error.h"

#ifndef __EMSCRIPTEN__

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/ir/npy.h"
#include "core/onnx/loader.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace qp {

namespace {

std::string lower_ext(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string e = path.substr(dot + 1);
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

bool is_image_ext(const std::string& e) {
  static const char* k[] = {"png", "jpg", "jpeg", "bmp", "gif", "tga", "ppm", "pgm", "pnm", "psd"};
  for (const char* x : k)
    if (e == x) return true;
  return false;
}

std::string base_name(const std::string& p) {
  const size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

PixelImage image_load_file(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  int w = 0, h = 0, n = 0;
  stbi_uc* px = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                                      &w, &h, &n, 4);
  if (!px) throw Error(path + ": cannot decode the image (" + std::string(stbi_failure_reason()) + ")");
  PixelImage img;
  img.name = base_name(path);
  img.width = w;
  img.height = h;
  img.rgba.assign(px, px + static_cast<size_t>(w) * h * 4);
  stbi_image_free(px);
  return img;
}

CalibrationSet calibration_from_files(const Graph& g, const std::vector<std::string>& paths, const ImagePreprocess& p,
                                      int batch, int max_samples) {
  if (paths.empty()) throw Error("calibration: no files");
  const ValueInfo& in = calibration_input(g);
  CalibrationSet cs;
  int images = 0, tensors = 0;
  for (const auto& path : paths) {
    if (max_samples > 0 && static_cast<int>(cs.samples.size()) >= max_samples) break;
    const std::string e = lower_ext(path);
    if (e == "npy" || e == "pb") {
      const std::string bytes = read_file_bytes(path);
      Tensor t;
      try {
        t = e == "npy" ? npy_parse(bytes, base_name(path)) : onnx_load_tensor(bytes, base_name(path));
      } catch (const std::exception& ex) {
        rethrow_with_context(path, ex);
      }
      const int left = max_samples > 0 ? max_samples - static_cast<int>(cs.samples.size()) : 0;
      CalibrationSet part = calibration_from_tensors(g, {t}, {path}, batch, left);
      for (auto& s : part.samples) cs.samples.push_back(std::move(s));
      ++tensors;
    } else if (is_image_ext(e)) {
      Sample s;
      s[in.name] = image_to_tensor(g, image_load_file(path), p);
      cs.samples.push_back(std::move(s));
      ++images;
    } else {
      throw Error(path + ": not a calibration file (expected .npy, .pb or an image: png, jpg, bmp, gif, tga, ppm, pgm)");
    }
  }
  cs.source = std::to_string(cs.samples.size()) + (cs.samples.size() == 1 ? " sample from " : " samples from ");
  if (tensors) cs.source += std::to_string(tensors) + " tensor file" + (tensors > 1 ? "s" : "");
  if (tensors && images) cs.source += " and ";
  if (images) cs.source += std::to_string(images) + " image" + (images > 1 ? "s" : "");
  return cs;
}

CalibrationSet calibration_from_dir(const Graph& g, const std::string& dir, const ImagePreprocess& p, int batch,
                                    int max_samples) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& ent : fs::directory_iterator(dir, ec)) {
    if (!ent.is_regular_file()) continue;
    const std::string path = ent.path().string();
    const std::string e = lower_ext(path);
    if (e == "npy" || e == "pb" || is_image_ext(e)) files.push_back(path);
  }
  if (ec) throw Error(dir + ": cannot list the directory (" + ec.message() + ")");
  if (files.empty()) throw Error(dir + ": no .npy, .pb or image files");
  std::sort(files.begin(), files.end());
  CalibrationSet cs = calibration_from_files(g, files, p, batch, max_samples);
  cs.source += " in " + dir;
  return cs;
}

}  // namespace qp

#else  // __EMSCRIPTEN__

namespace qp {

PixelImage image_load_file(const std::string& path) {
  throw Error(path + ": image files are decoded by the browser in wasm (use calibration_from_pixels)");
}
CalibrationSet calibration_from_files(const Graph&, const std::vector<std::string>&, const ImagePreprocess&, int, int) {
  throw Error("calibration files are read natively only (in wasm hand tensors or pixels in)");
}
CalibrationSet calibration_from_dir(const Graph&, const std::string& dir, const ImagePreprocess&, int, int) {
  throw Error(dir + ": calibration directories are read natively only");
}

}  // namespace qp

#endif

#include "tools/prmctl/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/prmctl/render.h"

namespace prm::prmctl {
namespace {

constexpr double kWidth = 960, kHeight = 480;
constexpr double kLeft = 90, kRight = 190, kTop = 60, kBottom = 80;
constexpr double kPlotWidth = kWidth - kLeft - kRight, kPlotHeight = kHeight - kTop - kBottom;

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string DateText(const common::v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

// 1250000 → "1.25M"; small values as they are.
std::string Amount(double v) {
  const double a = std::fabs(v);
  if (a >= 1e9) return absl::StrFormat("%.3gG", v / 1e9);
  if (a >= 1e6) return absl::StrFormat("%.3gM", v / 1e6);
  if (a >= 1e3) return absl::StrFormat("%.3gk", v / 1e3);
  return absl::StrFormat("%.3g", v);
}

// A round tick step (1, 2 or 5 × 10^k) giving about `ticks` intervals over `range`.
double NiceStep(double range, int ticks) {
  const double raw = range / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

}  // namespace

std::string ForecastSvg(const forecast::v1::SeriesForecast& forecast) {
  const int history = forecast.history_size();
  const int total = history + forecast.points_size();
  std::vector<std::string> labels;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& a : forecast.history()) {
    labels.push_back(DateText(a.period_start()));
    lo = std::min(lo, MoneyValue(a.actual()));
    hi = std::max(hi, MoneyValue(a.actual()));
  }
  for (const auto& p : forecast.points()) {
    labels.push_back(DateText(p.period_start()));
    for (const auto* m : {&p.lower_95(), &p.lower_80(), &p.mean(), &p.upper_80(), &p.upper_95()}) {
      lo = std::min(lo, MoneyValue(*m));
      hi = std::max(hi, MoneyValue(*m));
    }
  }
  if (total == 0) lo = 0, hi = 1;
  if (lo > 0) lo = 0;  // amounts read best from zero
  if (hi <= lo) hi = lo + 1;
  const double step = NiceStep(hi - lo, 5);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;

  auto x = [&](int i) { return kLeft + (total <= 1 ? kPlotWidth / 2 : i * kPlotWidth / (total - 1)); };
  auto y = [&](double v) { return kTop + kPlotHeight * (hi - v) / (hi - lo); };
  auto point = [&](int i, double v) { return absl::StrFormat("%.1f,%.1f", x(i), y(v)); };

  std::string svg = absl::StrFormat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      kWidth, kHeight, kWidth, kHeight);
  const std::string model = forecast.model().specification().empty()
                                ? ""
                                : " — " + forecast.model().specification();
  absl::StrAppend(&svg, "<text class=\"title\" x=\"", kLeft, "\" y=\"28\" font-size=\"16\">",
                  Escape(forecast.series_id().empty() ? "forecast" : forecast.series_id()),
                  Escape(model), "</text>\n");

  // Grid and y ticks.
  for (double v = lo; v <= hi + step / 2; v += step) {
    absl::StrAppend(&svg, absl::StrFormat(
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n"
        "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
        kLeft, y(v), kLeft + kPlotWidth, y(v), kLeft - 8, y(v) + 4, Amount(v)));
  }
  // X ticks: at most about ten labels.
  const int every = std::max(1, (total + 9) / 10);
  for (int i = 0; i < total; i += every) {
    absl::StrAppend(&svg, absl::StrFormat(
        "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
        "transform=\"rotate(-35 %.1f %.1f)\">%s</text>\n",
        x(i), kTop + kPlotHeight + 16, x(i), kTop + kPlotHeight + 16, labels[i]));
  }
  // Axes and their labels.
  absl::StrAppend(&svg, absl::StrFormat(
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">period start</text>\n"
      "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 20 %.1f)\">"
      "net sales (%s)</text>\n",
      kLeft, kTop, kLeft, kTop + kPlotHeight, kLeft, kTop + kPlotHeight, kLeft + kPlotWidth,
      kTop + kPlotHeight, kLeft + kPlotWidth / 2, kHeight - 8, kTop + kPlotHeight / 2,
      kTop + kPlotHeight / 2, Escape(forecast.currency_code())));

  // Interval bands: the upper bound forward, the lower bound back.
  auto band = [&](auto upper, auto lower, const char* fill, const char* name) {
    if (forecast.points_size() == 0) return;
    std::vector<std::string> corners;
    for (int i = 0; i < forecast.points_size(); ++i) {
      corners.push_back(point(history + i, MoneyValue(upper(forecast.points(i)))));
    }
    for (int i = forecast.points_size() - 1; i >= 0; --i) {
      corners.push_back(point(history + i, MoneyValue(lower(forecast.points(i)))));
    }
    absl::StrAppend(&svg, "<polygon class=\"", name, "\" points=\"", absl::StrJoin(corners, " "),
                    "\" fill=\"", fill, "\" stroke=\"none\"/>\n");
  };
  using Point = forecast::v1::ForecastPoint;
  band([](const Point& p) -> const auto& { return p.upper_95(); },
       [](const Point& p) -> const auto& { return p.lower_95(); }, "#c6dbef", "band95");
  band([](const Point& p) -> const auto& { return p.upper_80(); },
       [](const Point& p) -> const auto& { return p.lower_80(); }, "#85b6dc", "band80");

  if (history > 0) {
    std::vector<std::string> line;
    for (int i = 0; i < history; ++i) line.push_back(point(i, MoneyValue(forecast.history(i).actual())));
    absl::StrAppend(&svg, "<polyline class=\"history\" points=\"", absl::StrJoin(line, " "),
                    "\" fill=\"none\" stroke=\"#222222\" stroke-width=\"2\"/>\n");
  }
  if (forecast.points_size() > 0) {
    std::vector<std::string> line;
    if (history > 0) line.push_back(point(history - 1, MoneyValue(forecast.history(history - 1).actual())));
    for (int i = 0; i < forecast.points_size(); ++i) {
      line.push_back(point(history + i, MoneyValue(forecast.points(i).mean())));
    }
    absl::StrAppend(&svg, "<polyline class=\"mean\" points=\"", absl::StrJoin(line, " "),
                    "\" fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" "
                    "stroke-dasharray=\"6 4\"/>\n");
  }

  // Legend.
  const double lx = kLeft + kPlotWidth + 20;
  struct Entry { const char* label; const char* swatch; };
  const Entry entries[] = {
      {"actual", "<line x1=\"0\" y1=\"0\" x2=\"24\" y2=\"0\" stroke=\"#222222\" stroke-width=\"2\"/>"},
      {"forecast (mean)", "<line x1=\"0\" y1=\"0\" x2=\"24\" y2=\"0\" stroke=\"#08519c\" "
                          "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>"},
      {"80 % interval", "<rect x=\"0\" y=\"-6\" width=\"24\" height=\"12\" fill=\"#85b6dc\"/>"},
      {"95 % interval", "<rect x=\"0\" y=\"-6\" width=\"24\" height=\"12\" fill=\"#c6dbef\"/>"},
  };
  absl::StrAppend(&svg, "<g class=\"legend\">\n");
  for (size_t i = 0; i < std::size(entries); ++i) {
    absl::StrAppend(&svg, absl::StrFormat(
        "<g transform=\"translate(%.1f %.1f)\">%s<text x=\"32\" y=\"4\">%s</text></g>\n", lx,
        kTop + 10 + 22 * i, entries[i].swatch, entries[i].label));
  }
  absl::StrAppend(&svg, "</g>\n</svg>\n");
  return svg;
}

}  // namespace prm::prmctl

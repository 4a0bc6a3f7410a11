#pragma once

// A forecast drawn as a self-contained SVG image (no scripts, fonts or external references):
// past actuals as a solid line, the point forecast as a dashed line, the 80 % and 95 %
// prediction intervals as shaded bands, with axes, tick labels, a title and a legend.

#include <string>

#include "prm/forecast/v1/forecast_resources.pb.h"

namespace prm::prmctl {

// The SVG document for `forecast` (history, then points, in order). Never fails: an empty
// series draws empty axes.
std::string ForecastSvg(const forecast::v1::SeriesForecast& forecast);

}  // namespace prm::prmctl

#pragma once

// Forecast accuracy exactly as the M4 competition's `Benchmarks and Evaluation.R` computes it
// (SPEC §7.6). Pure functions, thread-safe. Spans must have matching lengths where stated; a
// mismatch is a programming error and aborts.

#include <span>

namespace prm::forecast {

// Mean over the horizon of 200·|y − ŷ| / (|y| + |ŷ|) (0..200 scale; smape_cal).
double Smape(std::span<const double> actual, std::span<const double> forecast);

// The MASE denominator: mean |y_t − y_{t−m}| over the training sample (mase_cal's masep).
// Returns +inf when the training sample is not longer than m.
double MaseScale(std::span<const double> insample, int m);

// Mean over the horizon of |y − ŷ| / MaseScale(insample, m).
double Mase(std::span<const double> insample, std::span<const double> actual,
            std::span<const double> forecast, int m);

// Mean scaled interval score of a central (1 − a) interval (M4: a = 0.05):
// mean over the horizon of (U − L) + 2/a·(L − y)·[y < L] + 2/a·(y − U)·[y > U], divided by
// MaseScale(insample, m).
double Msis(std::span<const double> insample, std::span<const double> actual,
            std::span<const double> lower, std::span<const double> upper, int m, double a = 0.05);

// Share of the horizon with lower <= y <= upper.
double Coverage(std::span<const double> actual, std::span<const double> lower,
                std::span<const double> upper);

// Overall weighted average relative to Naive2: ½ (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2),
// from totals (means) over a set of series, as in M4.
double Owa(double smape, double mase, double smape_naive2, double mase_naive2);

}  // namespace prm::forecast

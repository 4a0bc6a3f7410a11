# R forecast::ets on an M4 subset, for the side-by-side comparison with the engine's SelectEts
# (bench/forecast/compare/run.sh). Benchmark tool only.
#
#   Rscript ets_r.R M4_DIR SUBSET [LIMIT] [FORECASTS_OUT]
#
# Per series: ets(ts(train, frequency = m)) with every default (model = "ZZZ", damped = NULL,
# additive.only = FALSE, allow.multiplicative.trend = FALSE, restrict = TRUE, opt.crit = "lik",
# ic = "aicc", bounds = "both", nmse = 3), then forecast(fit, h)$mean (forecast() also computes
# its default 80/95 % intervals, inside the timed part, as the C++ driver does).
# m = 1 for Weekly, 24 for Hourly (the M4 m). Time: process CPU (user + system) of the loop.
# sMAPE and MASE as the M4 `Benchmarks and Evaluation.R` (MASE with the M4 m).
# Last line: "RESULT tool subset series cpu_s ms_per_series sMAPE MASE failures".

suppressPackageStartupMessages(library(forecast))

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
subset <- args[2]
limit <- if (length(args) >= 3) as.integer(args[3]) else 0L
out_path <- if (length(args) >= 4) args[4] else ""

h <- c(Weekly = 13L, Hourly = 48L)[[subset]]
m <- c(Weekly = 1L, Hourly = 24L)[[subset]]

read_wide <- function(path) {
  lines <- readLines(path)[-1]
  lapply(strsplit(lines, ",", fixed = TRUE), function(cells) {
    cells <- gsub('"', "", cells, fixed = TRUE)
    v <- suppressWarnings(as.numeric(cells[-1]))
    list(id = cells[1], y = v[!is.na(v)])
  })
}
train <- read_wide(file.path(dir, paste0(subset, "-train.csv")))
test <- read_wide(file.path(dir, paste0(subset, "-test.csv")))
if (limit > 0 && length(train) > limit) {
  train <- train[seq_len(limit)]
  test <- test[seq_len(limit)]
}
n <- length(train)

smape_cal <- function(outsample, forecasts) {
  mean(200 * abs(outsample - forecasts) / (abs(outsample) + abs(forecasts)))
}
mase_cal <- function(insample, outsample, forecasts, freq) {
  frq <- freq
  forecastsNaiveSD <- rep(NA, frq)
  for (j in (frq + 1):length(insample)) {
    forecastsNaiveSD <- c(forecastsNaiveSD, insample[j - frq])
  }
  masep <- mean(abs(insample - forecastsNaiveSD), na.rm = TRUE)
  mean(abs(outsample - forecasts)) / masep
}

fc <- vector("list", n)
models <- character(n)
failures <- 0L
t0 <- proc.time()
for (i in seq_len(n)) {
  r <- tryCatch({
    fit <- ets(ts(train[[i]]$y, frequency = m))
    list(mean = as.numeric(forecast(fit, h = h)$mean), model = fit$method)
  }, error = function(e) NULL)
  if (is.null(r)) {
    failures <- failures + 1L
    fc[[i]] <- rep(tail(train[[i]]$y, 1), h)  # naive; never expected
    models[i] <- "failed->Naive"
  } else {
    fc[[i]] <- r$mean
    models[i] <- r$model
  }
}
el <- proc.time() - t0
cpu <- as.numeric(el[["user.self"]] + el[["sys.self"]])
wall <- as.numeric(el[["elapsed"]])

smape <- mean(vapply(seq_len(n), function(i) smape_cal(test[[i]]$y, fc[[i]]), 0))
mase <- mean(vapply(seq_len(n), function(i) mase_cal(train[[i]]$y, test[[i]]$y, fc[[i]], m), 0))

if (nzchar(out_path)) {
  con <- file(out_path, "w")
  for (i in seq_len(n)) {
    writeLines(paste(c(train[[i]]$id, models[i], sprintf("%.10g", fc[[i]])), collapse = ","), con)
  }
  close(con)
}

cat(sprintf("R forecast %s ets, M4 %s: %d series, h = %d, m = %d\n",
            as.character(packageVersion("forecast")), subset, n, h, m))
cat(sprintf("CPU %.3f s (wall %.3f s), %.2f ms/series, sMAPE %.3f, MASE %.3f, failures %d\n",
            cpu, wall, 1000 * cpu / n, smape, mase, failures))
tab <- table(models)
cat("chosen models:", paste0(names(tab), "=", as.integer(tab)), "\n")
cat(sprintf("RESULT R-forecast::ets %s %d %.4f %.3f %.4f %.4f %d\n",
            subset, n, cpu, 1000 * cpu / n, smape, mase, failures))

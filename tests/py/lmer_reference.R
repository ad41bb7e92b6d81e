# Reference fits for tests/py/test_mixed.py: lme4 + lmerTest (Debian r-cran-lme4, r-cran-lmertest).
# Usage: Rscript lmer_reference.R DIR. DIR/sets.csv lists name,a,b,order (order 1: the model has
# (1 | graph:order)); DIR/<name>.csv holds acc,group,graph[,order]. Prints two CSV rows per data set (routes):
# the contrast mean(a) - mean(b) (REML, Satterthwaite df), VarCorr's components, isSingular and the
# REML criterion at the optimum.
# Two independent routes to the contrast: the group coefficient with b as the reference level, and
# lmerTest::contest with a contrast vector L on the fit with R's default levels.
suppressPackageStartupMessages(library(lmerTest))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
sets <- read.csv(file.path(dir, "sets.csv"), colClasses = "character")
# lme4's default optimiser stops at ~1e-6 in theta; a small component on a flat criterion then differs
# from the true optimum by ~1e-3 relative, more than the test's tolerance: tightened here
ctrl <- lmerControl(optimizer = "nloptwrap", optCtrl = list(ftol_abs = 1e-13, xtol_abs = 1e-13, maxeval = 1e5))
g17 <- function(x) if (is.na(x)) "NA" else formatC(as.numeric(x), digits = 17, format = "g")
cat("name,route,estimate,se,df,t,p,var_graph,var_order,var_resid,singular,reml_crit\n")
for (i in seq_len(nrow(sets))) {
  s <- sets[i, ]
  d <- read.csv(file.path(dir, paste0(s$name, ".csv")), colClasses = c(acc = "numeric", group = "character",
                                                                          graph = "character"))
  form <- if (s$order == "1") acc ~ group + (1 | graph) + (1 | graph:order) else acc ~ group + (1 | graph)
  if (s$order == "1") d$order <- as.character(d$order)
  d$graph <- factor(d$graph)
  # route 1: b as reference level, so the coefficient of a is mean(a) - mean(b)
  d$group <- relevel(factor(d$group), ref = s$b)
  m <- lmer(form, data = d, REML = TRUE, control = ctrl)
  co <- summary(m, ddf = "Satterthwaite")$coefficients
  row <- co[paste0("group", s$a), ]
  vc <- as.data.frame(VarCorr(m))
  comp <- function(nm) if (nm %in% vc$grp) vc$vcov[vc$grp == nm] else NA
  out <- function(route, est, se, df, t, p) {
    cat(paste(s$name, route, g17(est), g17(se), g17(df), g17(t), g17(p), g17(comp("graph")),
              g17(comp("graph:order")), g17(comp("Residual")), as.integer(isSingular(m)),
              g17(REMLcrit(m)), sep = ","), "\n",
        sep = "")
  }
  out("coef", row["Estimate"], row["Std. Error"], row["df"], row["t value"], row["Pr(>|t|)"])
  # route 2: default (alphabetical) levels and an explicit L over (Intercept, group...) coefficients
  d$group <- factor(as.character(d$group))
  m2 <- lmer(form, data = d, REML = TRUE, control = ctrl)
  nm <- names(fixef(m2))
  L <- setNames(numeric(length(nm)), nm)
  ca <- paste0("group", s$a)
  cb <- paste0("group", s$b)
  if (ca %in% nm) L[ca] <- 1
  if (cb %in% nm) L[cb] <- L[cb] - 1
  ct <- contest(m2, L, ddf = "Satterthwaite", joint = FALSE)
  out("contest", ct$Estimate, ct[["Std. Error"]], ct$df, ct[["t value"]], ct[["Pr(>|t|)"]])
}

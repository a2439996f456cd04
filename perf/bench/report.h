/* report: the figures diff and compare look at, with their direction. */
#ifndef URELAY_PERF_REPORT_H
#define URELAY_PERF_REPORT_H

struct headline {
        const char *kind;   /* scenario kind; a trailing '_' matches a prefix */
        const char *metric; /* key in the scenario's object */
        const char *unit;
        int higher_better;
        double floor; /* changes smaller than this (absolute) are noise */
};
extern const struct headline headlines[];
int headline_matches(const struct headline *h, const char *kind);

#endif

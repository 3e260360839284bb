package contract

import (
	"maps"
	"slices"
)

// Field is one field of a journey event's data: its name ("?" at the end when it is not always
// there) and its kind (int, bool, string, date, datetime, true, or enum:a|b).
type Field struct{ Name, Kind string }

// Event is a journey event type's own data, after the fields every journey event carries.
type Event struct {
	Doc    string
	Fields []Field
}

// hourClocks are the journeys whose deadline can be an instant: their events may carry
// deadlineAt and eventAt.
var hourClocks = []string{"authorization", "grievance", "appeal"}

// Enumerations shared by several events.
const (
	countyModel  = "enum:independent|dependent"
	authUrgency  = "enum:standard|expedited"
	cocUrgency   = "enum:standard|urgent|immediate_risk"
	appealResult = "enum:upheld|overturned"
)

// resolutionSoon, resolutionOverdue and resolutionClosed are the resolution clock's events,
// grievances' and appeals' alike (workflows/resolution.go).
var (
	resolutionSoon    = []Field{{"expedited", "bool"}, {"daysBefore?", "int"}, {"dueDate?", "date"}, {"hoursBefore?", "int"}}
	resolutionOverdue = []Field{{"expedited", "bool"}, {"daysOverdue?", "int"}, {"dueDate?", "date"}}
	resolutionClosed  = []Field{{"expedited", "bool"}, {"onTime", "bool"}, {"resolvedAt", "datetime"}, {"daysLate?", "int"}, {"hoursLate?", "int"}, {"dueDate?", "date"}}
)

// JourneyEvents is every journey event type careclock publishes, with its data (docs/rules.md).
var JourneyEvents = map[string]Event{
	// §1 CCS referral.
	"ccs.referral.opened": {"A referral was received (§1).", []Field{
		{"county", "string"}, {"countyModel", countyModel}, {"financialEligibility", "enum:met|pending"}, {"referralDate", "date"}}},
	"ccs.referral.application_reminder": {"The CCS application has not arrived 15 days after the referral.", []Field{{"referralDate", "date"}}},
	"ccs.referral.followup_due":         {"No determination by the expected day; repeats.", []Field{{"county", "string"}, {"countyModel", countyModel}, {"daysSinceReferral", "int"}}},
	"ccs.referral.transferred":          {"The member moved county.", []Field{{"county", "string"}, {"countyModel", countyModel}, {"previousCounty", "string"}}},
	"ccs.network.assignment_required":   {"An eligible hemophilia, ESRD or transplant referral goes to the CCN.", []Field{{"conditionCode", "string"}, {"network", "enum:CCN"}}},
	"ccs.referral.closed":               {"The referral closed.", []Field{{"outcome", "enum:eligible|ineligible|withdrawn|ineligible_age"}}},
	"ccs.referral.cancelled":            {"The member disenrolled.", nil},
	// §2 Continuity of care.
	"coc.decision_due_soon": {"A continuity-of-care request's decision is due soon.", []Field{{"daysBefore", "int"}, {"decisionDueDate", "date"}, {"providerId", "string"}, {"urgency", cocUrgency}}},
	"coc.decision_overdue":  {"A request's decision is overdue; repeats.", []Field{{"daysOverdue", "int"}, {"decisionDueDate", "date"}, {"providerId", "string"}, {"urgency", cocUrgency}}},
	"coc.approved":          {"A request was approved: the period runs.", []Field{{"daysLate", "int"}, {"decisionDueDate", "date"}, {"lastDay", "date"}, {"onTime", "bool"}, {"providerId", "string"}, {"urgency", cocUrgency}}},
	"coc.closed":            {"A request was denied.", []Field{{"decisionDueDate", "date"}, {"onTime", "bool"}, {"outcome", "enum:denied"}, {"providerId", "string"}, {"urgency", cocUrgency}}},
	"coc.ending":            {"The period ends soon.", []Field{{"daysBefore", "int"}, {"lastDay", "date"}, {"providerId", "string"}}},
	"coc.ended":             {"The period ended, or the provider contracted.", []Field{{"lastDay", "date"}, {"providerId", "string"}, {"reason", "enum:period_expired|provider_contracted"}}},
	"coc.cancelled":         {"The member disenrolled.", []Field{{"providerId", "string"}}},
	// §3 Age-out.
	"ageout.notice":    {"Notice before the 21st birthday.", []Field{{"monthsBefore", "int"}}},
	"ageout.aged_out":  {"The member turned 21.", nil},
	"ageout.cancelled": {"The member disenrolled.", nil},
	// §4 Postpartum.
	"postpartum.coverage_ending": {"Postpartum coverage ends soon.", []Field{{"daysBefore", "int"}, {"lastCoveredDay", "date"}}},
	"postpartum.coverage_ended":  {"The extension ended; the county redetermines eligibility.", []Field{{"countyRedetermination", "true"}, {"lastCoveredDay", "date"}}},
	"postpartum.cancelled":       {"The member disenrolled.", nil},
	// §5 Reimbursement.
	"reimbursement.due_soon": {"A reimbursement is due soon.", []Field{{"daysBefore", "int"}, {"dueDate", "date"}}},
	"reimbursement.overdue":  {"A reimbursement is overdue; repeats.", []Field{{"daysOverdue", "int"}, {"dueDate", "date"}}},
	"reimbursement.approved": {"The claim was approved; payment is still due.", []Field{{"dueDate", "date"}}},
	"reimbursement.closed": {"The claim was paid or denied.", []Field{
		{"outcome", "enum:paid|denied"}, {"dueDate", "date"}, {"onTime", "bool"}, {"daysLate?", "int"}, {"appealBy?", "date"}}},
	// §6 Prior authorization.
	"authorization.decision_due_soon": {"A decision is due soon.", []Field{{"urgency", authUrgency}, {"businessDaysBefore?", "int"}, {"dueDate?", "date"}, {"hoursBefore?", "int"}}},
	"authorization.deemed_denied":     {"No decision by the deadline: a denial on that date.", []Field{{"urgency", authUrgency}, {"dueDate?", "date"}}},
	"authorization.extension_noticed": {"The deadline was extended, once.", []Field{{"urgency", authUrgency}, {"dueDate", "date"}, {"extensionDays", "int"}}},
	"authorization.notice_overdue":    {"A denial's or modification's notice of action is overdue.", []Field{{"decision", "enum:denied|modified"}, {"noticeDueDate", "date"}}},
	"authorization.closed": {"Approved, denied or modified with its notice sent, or withdrawn.", []Field{
		{"outcome", "enum:approved|denied|modified|withdrawn"}, {"urgency", authUrgency}, {"onTime?", "bool"}, {"decidedAt?", "datetime"},
		{"daysLate?", "int"}, {"hoursLate?", "int"}, {"dueDate?", "date"}, {"decisionDeadlineAt?", "datetime"},
		{"noticeDueDate?", "date"}, {"noticeOnTime?", "bool"}, {"appealBy?", "date"}, {"extended?", "bool"}, {"receivedAt?", "datetime"}}},
	// §7 Grievance.
	"grievance.acknowledgment_overdue": {"The written acknowledgment is overdue.", []Field{{"acknowledgeBy", "date"}}},
	"grievance.resolution_due_soon":    {"The resolution is due soon.", resolutionSoon},
	"grievance.resolution_overdue":     {"The resolution is overdue; repeats.", resolutionOverdue},
	"grievance.closed":                 {"The grievance was resolved.", resolutionClosed},
	// §8 Appeal.
	"appeal.acknowledgment_overdue": {"The written acknowledgment of a standard appeal is overdue.", []Field{{"acknowledgeBy", "date"}}},
	"appeal.received_late":          {"Filed more than 60 days after the notice.", []Field{{"daysAfterNotice", "int"}, {"filingDeadline", "date"}, {"noticeDate", "date"}}},
	"appeal.extension_noticed":      {"The deadline was extended, once.", []Field{{"dueDate", "date"}, {"expedited", "bool"}, {"extensionDays", "int"}}},
	"appeal.resolution_due_soon":    {"The resolution is due soon.", resolutionSoon},
	"appeal.resolution_overdue":     {"The resolution is overdue; repeats.", resolutionOverdue},
	"appeal.closed": {"The appeal was resolved.", append(slices.Clone(resolutionClosed), Field{"outcome", appealResult}, Field{"stateHearingBy?", "date"},
		Field{"noticeDate?", "date"}, Field{"requestId?", "string"})},
	"appeal.state_hearing_window_ends": {"The State Hearing window of an upheld appeal ends.", []Field{{"hearingBy", "date"}}},
}

// JourneyTypes lists the journey event types, sorted.
func JourneyTypes() []string { return slices.Sorted(maps.Keys(JourneyEvents)) }

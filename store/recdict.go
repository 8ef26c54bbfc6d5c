package store

import "sync"

// recordDictText follows mailDict in the zstd dictionary of
// codecZstdRecDict: what the copies and records of mail we send repeat
// (the literal text of the English and Norwegian templates as shipped,
// record fields that recur), so that compact packs a ~500-byte copy of
// an acknowledgement by back-references to it.
//
// NEVER CHANGE THIS TEXT: stored values depend on it byte for byte. A
// better dictionary gets a new codec byte and a new constant.
const recordDictText = "" +
	"\x03out\x05human\x00\x03ack\x06notify\x05relay\x06assign\x07receipt\x10delivery-failure\x06status\x04note\x06queued\x0cauto-replied\x0eauto-generated\x00\x00\x00\x00\x00\x00\x0estatus waiting\x0bstatus open\x0dstatus closed\x12integrasjon@uio.noWeekly report of , week  ( – ).\n" +
	"Times are working hours; on the right the mean and percentiles of the four weeks before.\n" +
	"\n" +
	"      (four weeks before: )\n" +
	"\n" +
	"Oldest open cases ( of ):\n" +
	"    – created , , \n" +
	"  none\n" +
	"\n" +
	"Cases that escalated during the week:\n" +
	"    – level , \n" +
	"  none\n" +
	"\n" +
	"The definitions are on the dashboard's statistics page and in kontaktpunkt report.\n" +
	"Many reminders fell due at once at . These  are folded into one mail:\n" +
	"\n" +
	"    (not assignedescalatedreminder as agreedwaiting for an answer)\n" +
	"\n" +
	"Your open cases at :\n" +
	"\n" +
	"    (, overdue)\n" +
	"\n" +
	" has opened  new cases in the last hour. Further new mail from this sender is stored without a case and not answered until an hour has passed.\n" +
	"\n" +
	"It may be a machine answering mail. See the unfiled mail in the dashboard, or write to the sender yourself.\n" +
	"Case  has relayed  mails in the last hour. Relaying is paused until an hour has passed; new messages are stored on the case.\n" +
	"\n" +
	"It may be two machines answering each other. Look at the case and answer yourself if someone is waiting.\n" +
	"Reminder as requested: case  from .\n" +
	"\n" +
	"Subject: \n" +
	"Reminder: case  from  is not assigned yet (opened ).\n" +
	"Reply with [assign:name] or [take] in the subject.\n" +
	"\n" +
	"Subject: \n" +
	"Reminder: case  is waiting for an answer to  (assigned ).\n" +
	"Reply to this e-mail to answer the requester, or put [remind:3d] in the subject to snooze.\n" +
	"\n" +
	"Subject: \n" +
	"Hello ,\n" +
	"\n" +
	"We are waiting for your answer on case . Reply to this e-mail when you can; without an answer the case is closed automatically on .\n" +
	"\n" +
	"Kind regards,\n" +
	"\n" +
	"Hello ,\n" +
	"\n" +
	"Case  has been closed because we have not heard from you. Reply to this e-mail within  days to reopen it.\n" +
	"\n" +
	"Kind regards,\n" +
	"\n" +
	" is not a participant of case  but wrote in its thread. The message is stored on the case and was not relayed to the requester.\n" +
	"\n" +
	"(No new text in the message.)\n" +
	"Escalation level : case  from  has had no answer since .\n" +
	"Assigned to: \n" +
	"Team: \n" +
	"\n" +
	"Subject: \n" +
	"Internal note on case  from  (not sent to the requester):\n" +
	"\n" +
	"(No new text in the message.)\n" +
	" writes:\n" +
	"\n" +
	"Case  has been assigned to youteam  by .\n" +
	"\n" +
	"Requester: \n" +
	"Subject: \n" +
	"\n" +
	"Reply to this e-mail to answer the requester; your reply is relayed.\n" +
	"Put [note] in the subject for an internal note that does not reach the requester.\n" +
	"\n" +
	"The request:\n" +
	"\n" +
	"Commands on case :\n" +
	"\n" +
	"  applied: \n" +
	"  refused: \n" +
	"\n" +
	"The case now: status , priority , assigned to , team .\n" +
	"Mail from  on case  could not be delivered to .\n" +
	"\n" +
	"Recipient:   \n" +
	"Status code: \n" +
	"Diagnostic:  \n" +
	"\n" +
	"Notice: Reason: \n" +
	"\n" +
	"Automatic mail to this address is suspended for  days.\n" +
	"New case  from .\n" +
	"\n" +
	"Routed to team: \n" +
	"Assigned to: \n" +
	"The case is unassigned. Reply with [assign:name] or [take] in the subject.\n" +
	"\n" +
	"Assigned automatically from similar cases:  ( of  similar cases: )\n" +
	"Reply with [assign:name] in the subject to assign it elsewhere.Suggestion:  ( of  similar cases: )\n" +
	"Reply with [assign:] in the subject to assign it.\n" +
	" wrote in case :\n" +
	"\n" +
	"(No new text in the message.)\n" +
	"Hello ,\n" +
	"\n" +
	"Thank you for contacting . Your request has been given the number .\n" +
	"We will find out who can answer you, and follow up until the case is resolved.\n" +
	"\n" +
	"Reply to this e-mail if you have more to add; keep  in the subject.\n" +
	"\n" +
	"Your request:\n" +
	"\n" +
	"Kind regards,\n" +
	"\n" +
	"Ukesrapport for , uke  ( – ).\n" +
	"Tider er i arbeidstid (timer), snitt og persentiler for de fire ukene før til høyre.\n" +
	"\n" +
	"      (fire uker før: )\n" +
	"\n" +
	"Eldste åpne saker ( av ):\n" +
	"    – opprettet , , \n" +
	"  ingen\n" +
	"\n" +
	"Saker som ble eskalert i uka:\n" +
	"    – nivå , \n" +
	"  ingen\n" +
	"\n" +
	"Definisjonene står på statistikksiden i oversikten og i kontaktpunkt report.\n" +
	"Mange påminnelser forfalt på en gang hos . Disse  er samlet i én e-post:\n" +
	"\n" +
	"    (ikke tildelteskalertpåminnelse som avtaltventer på svar)\n" +
	"\n" +
	"Dine åpne saker hos :\n" +
	"\n" +
	"    (, forfalt)\n" +
	"\n" +
	" har åpnet  nye saker den siste timen. Ny e-post fra denne avsenderen lagres uten sak og besvares ikke før det har gått en time.\n" +
	"\n" +
	"Det kan være en maskin som svarer på e-post. Se uregistrert e-post i oversikten, eller skriv til avsenderen selv.\n" +
	"Sak  har videresendt  e-poster den siste timen. Videresending er stanset til det har gått en time; nye meldinger lagres på saken.\n" +
	"\n" +
	"Det kan være to maskiner som svarer hverandre. Se saken og svar selv om noen venter på svar.\n" +
	"Påminnelse som avtalt: sak  fra .\n" +
	"\n" +
	"Emne: \n" +
	"Påminnelse: sak  fra  er ikke tildelt ennå (opprettet ).\n" +
	"Svar med [assign:navn] eller [take] i emnefeltet.\n" +
	"\n" +
	"Emne: \n" +
	"Påminnelse: sak  venter på svar til  (tildelt ).\n" +
	"Svar på denne e-posten for å svare innmelderen, eller skriv [remind:3d] i emnefeltet for å utsette.\n" +
	"\n" +
	"Emne: \n" +
	"Hei ,\n" +
	"\n" +
	"Vi venter på svar fra deg i sak . Svar på denne e-posten når du kan; uten svar lukkes saken automatisk .\n" +
	"\n" +
	"Vennlig hilsen\n" +
	"\n" +
	"Hei ,\n" +
	"\n" +
	"Sak  er lukket fordi vi ikke har hørt fra deg. Svar på denne e-posten innen  dager hvis du vil åpne den igjen.\n" +
	"\n" +
	"Vennlig hilsen\n" +
	"\n" +
	" er ikke deltaker i sak , men skrev i tråden. Meldingen er lagret på saken og ikke sendt videre til innmelderen.\n" +
	"\n" +
	"(Ingen ny tekst i meldingen.)\n" +
	"Eskalering nivå : sak  fra  har ikke fått svar siden .\n" +
	"Tildelt: \n" +
	"Team: \n" +
	"\n" +
	"Emne: \n" +
	"Intern merknad i sak  fra  (går ikke til innmelderen):\n" +
	"\n" +
	"(Ingen ny tekst i meldingen.)\n" +
	" skriver:\n" +
	"\n" +
	"Saken  er tildelt degteamet  av .\n" +
	"\n" +
	"Innmelder: \n" +
	"Emne: \n" +
	"\n" +
	"Svar på denne e-posten for å svare innmelderen; svaret blir videresendt.\n" +
	"Skriv [note] i emnefeltet for en intern merknad som ikke går til innmelderen.\n" +
	"\n" +
	"Henvendelsen:\n" +
	"\n" +
	"Kommandoer i sak :\n" +
	"\n" +
	"  utført: \n" +
	"  avvist: \n" +
	"\n" +
	"Saken nå: status , prioritet , tildelt , team .\n" +
	"E-post fra  i sak  kunne ikke leveres til .\n" +
	"\n" +
	"Mottaker:    \n" +
	"Statuskode:  \n" +
	"Feilmelding: \n" +
	"\n" +
	"Varselet: Årsak: \n" +
	"\n" +
	"Automatisk e-post til denne adressen stanses i  dager.\n" +
	"Ny sak  fra .\n" +
	"\n" +
	"Rutet til team: \n" +
	"Tildelt: \n" +
	"Saken er ikke tildelt. Svar med [assign:navn] eller [take] i emnefeltet.\n" +
	"\n" +
	"Tildelt automatisk etter lignende saker:  ( av  lignende saker: )\n" +
	"Svar med [assign:navn] i emnefeltet for å tildele på nytt.Forslag:  ( av  lignende saker: )\n" +
	"Svar med [assign:] i emnefeltet for å tildele.\n" +
	" skrev i sak :\n" +
	"\n" +
	"(Ingen ny tekst i meldingen.)\n" +
	"Hei ,\n" +
	"\n" +
	"Takk for henvendelsen til . Saken har fått nummeret .\n" +
	"Vi finner ut hvem som kan svare deg, og følger opp til saken er løst.\n" +
	"\n" +
	"Svar gjerne på denne e-posten hvis du har mer å legge til; behold  i emnefeltet.\n" +
	"\n" +
	"Din henvendelse:\n" +
	"\n" +
	"Vennlig hilsen\n" +
	"\n"

// recordDict is the dictionary of codecZstdRecDict: mailDict, then
// recordDictText (the end of a dictionary is the cheapest to refer to).
var recordDict = sync.OnceValue(func() []byte { return []byte(mailDict + recordDictText) })
